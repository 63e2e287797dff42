from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tasks_app.accounts import account_create, issued_secrets

# account_create's arguments, as this command's options.
OPTIONS = {
    "default_callback_url": "--default-callback-url",
    "test_default_callback_url": "--test-default-callback-url",
    "allowed_networks": "--allow-network",
}


class Command(BaseCommand):
    help = "Create a customer account and print its keys (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--staff", action="store_true", help="An operator account (admin, /v1/ops).")
        parser.add_argument(
            "--default-callback-url", default="", help="URL or email address of live callbacks."
        )
        parser.add_argument(
            "--test-default-callback-url", default="", help="URL or email address of test callbacks."
        )
        parser.add_argument(
            "--allow-network",
            action="append",
            default=[],
            metavar="CIDR",
            help=(
                "An otherwise forbidden network this account's callbacks may reach (repeat for more); "
                "what receivers there answer is shown to operators only."
            ),
        )
        parser.add_argument(
            "--password",
            default=None,
            help="Admin password for a staff account (else set it with changepassword).",
        )

    def handle(
        self,
        *args,
        email,
        staff,
        default_callback_url,
        test_default_callback_url,
        allow_network,
        password,
        **options,
    ):
        if get_user_model().objects.filter(username=email).exists():
            raise CommandError(f"An account {email} already exists.")
        try:
            account = account_create(
                email=email,
                staff=staff,
                default_callback_url=default_callback_url,
                test_default_callback_url=test_default_callback_url,
                allowed_networks=allow_network,
            )
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            raise CommandError(f"Invalid {OPTIONS.get(name, name)}: {messages[0]}") from None
        if password:
            account.user.set_password(password)
            account.user.save(update_fields=["password"])
        self.stdout.write(f"Account:                {email}{' (staff)' if staff else ''}")
        if account.profile.allowed_networks:
            self.stdout.write(f"Allowed networks:       {', '.join(account.profile.allowed_networks)}")
        for label, value in issued_secrets(profile=account.profile, keys=account.keys):
            self.stdout.write(f"{label + ':':<24}{value}")
        self.stdout.write("The API keys are not stored and will not be shown again.")
