import secrets

from django.core.management.base import BaseCommand

from tasks_app.accounts import account_create, api_keys_rotate, issued_secrets
from tasks_app.models import Profile
from tasks_app.operators import operator_add

DEMO_EMAIL = "demo@scalehooks.local"


class Command(BaseCommand):
    help = (
        "Create the demo operator account (staff, Operators group) if needed and print fresh "
        "keys and an admin password for it (the previous ones stop working). Used by `make run`. "
        "It sees what an operator sees; `manage.py createsuperuser` makes an account that "
        "manages users too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the server listens.")

    def handle(self, *args, url, **options):
        profile = Profile.objects.filter(user__username=DEMO_EMAIL).select_related("user").first()
        if profile is None:
            account = account_create(email=DEMO_EMAIL, staff=True)
            profile, keys = account.profile, account.keys
        else:
            keys = api_keys_rotate(profile=profile)
        password = secrets.token_urlsafe(12)
        user = profile.user
        user.set_password(password)
        user.is_superuser = False
        user.save()
        operator_add(user=user)
        self.stdout.write(self.style.SUCCESS("ScaleHooks demo account (fresh keys on every start):"))
        self.stdout.write(f"  Admin:                  {url}/admin/  user {DEMO_EMAIL}  password {password}")
        for label, value in issued_secrets(profile=profile, keys=keys):
            self.stdout.write(f"  {label + ':':<24}{value}")
        self.stdout.write(f"  Try: curl -u {keys.live_api_key}: -X POST {url}/v1/task/categorization \\")
        self.stdout.write("         -H 'Content-Type: application/json' \\")
        self.stdout.write(
            '         -d \'{"attachment": "tomato", "categories": ["red", "blue"], '
            '"callback_url": "http://127.0.0.1:9000/"}\''
        )
