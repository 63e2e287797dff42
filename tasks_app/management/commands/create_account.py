import os
import sys
from getpass import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from scalehooks.audit import from_command_line
from tasks_app.accounts import account_create, email_in_use, issued_secrets

# account_create's arguments, as this command's options.
OPTIONS = {
    "default_callback_url": "--default-callback-url",
    "test_default_callback_url": "--test-default-callback-url",
    "allowed_networks": "--allow-network",
}


# A refusal of a private or loopback target names the two ways to open it.
FORBIDDEN_HINT = (
    " A receiver on this machine or your network? Open its range to every account with "
    "CALLBACK_ALLOWED_NETWORKS (`make run` writes 127.0.0.0/8,::1/128 to .env, which this command "
    "reads), or to this account alone with --allow-network CIDR."
)


class Command(BaseCommand):
    help = (
        "Create a customer account and print its keys (shown only this once). With --staff, an "
        "operator (the Operators group: the admin and /v1/ops) whose admin password is read from "
        "the environment variable named by --password-env, else asked for on the terminal; it is "
        "never taken from the command line, which other users of the machine can see."
    )

    def add_arguments(self, parser):
        parser.allow_abbrev = False  # a stray `--password SECRET` must not pass for --password-env
        parser.add_argument("email")
        parser.add_argument(
            "--staff", action="store_true", help="An operator account (Operators group: admin, /v1/ops)."
        )
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
            "--password-env",
            metavar="VAR",
            default=None,
            help="Read the staff account's admin password from the environment variable VAR "
            "(without it: asked for on a terminal, else none is set; use changepassword).",
        )

    @from_command_line
    def handle(
        self,
        *args,
        email,
        staff,
        default_callback_url,
        test_default_callback_url,
        allow_network,
        password_env,
        **options,
    ):
        if email_in_use(email=email):  # before asking for a password; account_create checks again
            raise CommandError(
                f"A user with the email address {email} already exists (addresses are one in any case)."
            )
        password = self._password(email=email, staff=staff, password_env=password_env)
        with transaction.atomic():
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
                if name == "email":
                    raise CommandError(messages[0]) from None
                hint = FORBIDDEN_HINT if "are not allowed" in messages[0] else ""
                raise CommandError(f"Invalid {OPTIONS.get(name, name)}: {messages[0]}{hint}") from None
            if password:
                account.user.set_password(password)
                account.user.save(update_fields=["password"])
        self.stdout.write(f"Account:                {email}{' (staff, Operators group)' if staff else ''}")
        if account.profile.allowed_networks:
            self.stdout.write(f"Allowed networks:       {', '.join(account.profile.allowed_networks)}")
        for label, value in issued_secrets(profile=account.profile, keys=account.keys):
            self.stdout.write(f"{label + ':':<24}{value}")
        self.stdout.write("The API keys are not stored and will not be shown again.")
        if staff and not password:
            self.stdout.write(f"No admin password set: run `manage.py changepassword {email}`.")

    def _password(self, *, email: str, staff: bool, password_env: str | None) -> str:
        """The admin password: from ``$password_env``, else a terminal prompt, else "" (none)."""
        if password_env is not None and not staff:
            raise CommandError("--password-env is for --staff accounts (customers have no admin login).")
        if not staff:
            return ""
        if password_env is not None:
            password = os.environ.get(password_env, "")
            if not password:
                raise CommandError(f"The environment variable {password_env} is not set or empty.")
        elif sys.stdin.isatty():
            password = getpass("Admin password: ")
            if password != getpass("Admin password (again): "):
                raise CommandError("The passwords do not match.")
        else:
            return ""
        user = get_user_model()(username=email, email=email)
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise CommandError(f"Password refused: {' '.join(exc.messages)}") from None
        return password
