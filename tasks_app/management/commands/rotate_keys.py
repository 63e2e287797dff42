from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from scalehooks.audit import from_command_line
from tasks_app.accounts import api_keys_rotate, callback_auth_key_rotate, signing_secret_rotate
from tasks_app.keys import Mode
from tasks_app.models import Profile


class Command(BaseCommand):
    help = (
        "Rotate an account's keys and print the new ones (shown only this once). "
        "API keys stop working at once; a rotated signing secret keeps the previous one "
        "valid for 24 h (both signatures are sent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--api", action="store_true", help="Both API keys (live and test).")
        parser.add_argument(
            "--callback-auth", action="store_true", help="The callback auth key(s) (see --mode)."
        )
        parser.add_argument("--signing", action="store_true", help="The signing secret(s) (see --mode).")
        parser.add_argument(
            "--mode",
            choices=[Mode.LIVE.value, Mode.TEST.value],
            help="With --callback-auth or --signing: only this mode's (default: both).",
        )

    @from_command_line
    def handle(self, *args, email, api, callback_auth, signing, mode, **options):
        if not (api or callback_auth or signing):
            raise CommandError("Say what to rotate: --api, --callback-auth and/or --signing.")
        if mode and not (callback_auth or signing):
            raise CommandError("--mode applies to --callback-auth and --signing only.")
        profile = (
            Profile.objects.select_related("user")
            .filter(user__in=get_user_model().objects.filter(email__iexact=email))
            .first()
        )
        if profile is None:
            raise CommandError(f"No account {email}.")
        modes = [mode] if mode else [Mode.LIVE.value, Mode.TEST.value]

        if api:
            keys = api_keys_rotate(profile=profile)
            self.stdout.write(f"Live API key:           {keys.live_api_key}")
            self.stdout.write(f"Test API key:           {keys.test_api_key}")
            self.stdout.write(
                "The API keys are not stored and will not be shown again; the old ones no longer work."
            )
        if callback_auth:
            for key_mode in modes:
                key = callback_auth_key_rotate(profile=profile, mode=key_mode)
                self.stdout.write(f"{key_mode.capitalize()} callback auth key: {key}")
        if signing:
            for secret_mode in modes:
                secret = signing_secret_rotate(profile=profile, mode=secret_mode)
                _, expires_at = profile.previous_signing_secret_of(secret_mode)
                until = timezone.localtime(expires_at)
                self.stdout.write(f"{secret_mode.capitalize() + ' signing secret:':<24}{secret}")
                self.stdout.write(
                    f"The previous {secret_mode} signing secret stays valid until "
                    f"{until:%Y-%m-%d %H:%M:%S %Z} (callbacks carry both signatures until then)."
                )
