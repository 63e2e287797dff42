import secrets

from django.core.management.base import BaseCommand
from django.utils import timezone

from inbox_app.selectors import inboxes_of
from inbox_app.services import inbox_create
from portal_app.links import portal_link_create
from tasks_app.accounts import account_create, api_keys_rotate, issued_secrets, profile_update
from tasks_app.models import Profile
from tasks_app.operators import operator_add

DEMO_EMAIL = "demo@scalehooks.local"
DEMO_INBOX = "Demo inbox"


def demo_inbox(profile):
    """The demo account's test inbox (made once, again when expired), set as its test default
    callback URL: a test task's callback lands there, verified, with no receiver to write."""
    inbox = (
        inboxes_of(profile=profile, mode="test")
        .filter(name=DEMO_INBOX, expires_at__gt=timezone.now())
        .first()
    )
    if inbox is None:
        inbox = inbox_create(profile=profile, mode="test", name=DEMO_INBOX)
    profile_update(profile=profile, mode="test", default_callback_url=inbox.url)
    return inbox


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
        inbox = demo_inbox(profile)
        link = portal_link_create(user=user, account=profile, mode="test")
        self.stdout.write(f"  {'Portal (one-time link):':<24}{url}{link.path}")
        self.stdout.write(
            f"  {'':<24}(valid 15 minutes, used once; `manage.py portal_link {DEMO_EMAIL}` for another)"
        )
        self.stdout.write(f"  {'Inbox:':<24}{inbox.url}")
        self.stdout.write(f"  {'':<24}(the test default callback URL: test callbacks land there, verified)")
        self.stdout.write(f"  Try: curl -u {keys.test_api_key}: -X POST {url}/v1/task/categorization \\")
        self.stdout.write("         -H 'Content-Type: application/json' \\")
        self.stdout.write('         -d \'{"attachment": "tomato", "categories": ["red", "blue"]}\'')
        self.stdout.write(
            "       then open the portal link: Inboxes → Demo inbox shows the signed callback, verified."
        )
