import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from inbox_app.selectors import inboxes_of
from inbox_app.services import inbox_create
from portal_app.links import portal_link_create
from tasks_app.accounts import account_create, api_keys_rotate, issued_secrets, profile_update
from tasks_app.models import Profile
from tasks_app.operators import operator_add

DEMO_EMAIL = "demo@scalehooks.local"
DEMO_OPERATOR_EMAIL = "operator@scalehooks.local"
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


def _fresh_password(user) -> str:
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    return password


def demo_customer():
    """The demo customer account (never staff: the portal serves customers only, SPEC §8) and its
    fresh keys; an older demo database's staff demo account becomes a plain customer."""
    profile = Profile.objects.filter(user__username=DEMO_EMAIL).select_related("user").first()
    if profile is None:
        account = account_create(email=DEMO_EMAIL)
        return account.profile, account.keys
    user = profile.user
    user.is_staff = user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.clear()
    return profile, api_keys_rotate(profile=profile)


def demo_operator():
    """The demo operator (staff, Operators group: the admin and ``/v1/ops``) and its fresh keys."""
    profile = Profile.objects.filter(user__username=DEMO_OPERATOR_EMAIL).select_related("user").first()
    if profile is None:
        account = account_create(email=DEMO_OPERATOR_EMAIL, staff=True)
        return account.profile, account.keys
    operator_add(user=profile.user)
    return profile, api_keys_rotate(profile=profile)


class Command(BaseCommand):
    help = (
        "Create the demo customer account and the demo operator if needed, and print fresh keys and "
        "passwords for them (the previous ones stop working). Used by `make run`. The operator sees "
        "what an operator sees in the admin; `manage.py createsuperuser` makes an account that "
        "manages users too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default=None,
            help="Where the server is reached (default: PUBLIC_BASE_URL, which `make run` writes to .env).",
        )

    def handle(self, *args, url, **options):
        url = (url or settings.PUBLIC_BASE_URL).rstrip("/")
        profile, keys = demo_customer()
        password = _fresh_password(profile.user)
        operator, operator_keys = demo_operator()
        operator_password = _fresh_password(operator.user)
        line = self.stdout.write
        line(self.style.SUCCESS("ScaleHooks demo customer account (fresh keys on every start):"))
        line(f"  {'Portal:':<24}{url}/portal/  email {DEMO_EMAIL}  password {password}")
        for label, value in issued_secrets(profile=profile, keys=keys):
            line(f"  {label + ':':<24}{value}")
        inbox = demo_inbox(profile)
        link = portal_link_create(user=profile.user, account=profile, mode="test")
        line(f"  {'Portal (one-time link):':<24}{url}{link.path}")
        line(
            f"  {'':<24}(the test side, valid 15 minutes, used once; "
            f"`./manage portal_link {DEMO_EMAIL}` for another)"
        )
        line(f"  {'Inbox:':<24}{inbox.url}")
        line(f"  {'':<24}(the test default callback URL: test callbacks land there, verified)")
        line(self.style.SUCCESS("ScaleHooks demo operator (staff, Operators group):"))
        line(f"  {'Admin:':<24}{url}/admin/  user {DEMO_OPERATOR_EMAIL}  password {operator_password}")
        line(f"  {'Operator API key:':<24}{operator_keys.live_api_key}  (for /v1/ops/task/…)")
        line(f"  Try: curl -u {keys.test_api_key}: -X POST {url}/v1/task/categorization \\")
        line("         -H 'Content-Type: application/json' \\")
        line('         -d \'{"attachment": "tomato", "categories": ["red", "blue"]}\'')
        line("       then open the portal link: Inboxes → Demo inbox shows the signed callback, verified.")
