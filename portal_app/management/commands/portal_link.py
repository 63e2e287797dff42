"""``manage.py portal_link EMAIL``: a one-time sign-in link to the portal (SPEC §14)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal_app.access import portal_account_of
from portal_app.links import portal_link_create
from tasks_app.keys import Mode


class Command(BaseCommand):
    help = "Print a one-time portal sign-in link (valid 15 minutes) for the owner or a teammate EMAIL."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--mode", choices=Mode.values, default=Mode.TEST, help="The side it opens.")
        parser.add_argument(
            "--url",
            default=None,
            help="Where the server is reached (default: PUBLIC_BASE_URL, which `make run` writes to .env).",
        )

    def handle(self, *args, email, mode, url, **options):
        user = get_user_model().objects.filter(email__iexact=email).first()
        account = portal_account_of(user) if user is not None else None
        if account is None:
            raise CommandError(
                f"No customer account or teammate with the email {email} (operators use the admin, "
                "never the portal)."
            )
        link = portal_link_create(user=user, account=account, mode=mode)
        self.stdout.write(f"{(url or settings.PUBLIC_BASE_URL).rstrip('/')}{link.path}")
        self.stdout.write(f"(one use, until {link.expires_at:%Y-%m-%d %H:%M:%S} UTC, {mode} side)")
