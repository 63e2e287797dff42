"""Every portal POST without a CSRF token is refused (SPEC §14), and changes nothing."""

import pytest
from django.test import Client

from callbacks_app.models import TargetHealth
from inbox_app.models import Inbox
from inbox_app.services import inbox_create
from portal_app.links import portal_link_create
from tests.portal_app.conftest import delivery_of

pytestmark = pytest.mark.django_db

POSTS = [
    "/portal/sign-in",
    "/portal/sign-out",
    "/portal/mode",
    "/portal/callbacks/{delivery}/resend",
    "/portal/recover",
    "/portal/settings/default-url",
    "/portal/settings/test-callback",
    "/portal/settings/password",
    "/portal/settings/rotate/callback-auth-key",
    "/portal/settings/rotate/signing-secret",
    "/portal/settings/rotate/api-keys",
    "/portal/inboxes/create",
    "/portal/inboxes/{inbox}/script",
    "/portal/inboxes/{inbox}/use",
    "/portal/inboxes/{inbox}/clear",
    "/portal/inboxes/{inbox}/delete",
    "/portal/targets/{target}/pause",
    "/portal/targets/{target}/resume",
]


@pytest.fixture
def strict_portal(account, portal):
    """A client that checks CSRF, holding the signed-in session of ``portal``."""
    client = Client(enforce_csrf_checks=True)
    client.cookies = portal.cookies
    return client


@pytest.mark.parametrize("url", POSTS)
def test_a_post_without_csrf_is_refused(strict_portal, account, url):
    delivery = delivery_of(account.user, is_test=True, status="failed")
    inbox = inbox_create(profile=account.profile, mode="test", name="mine")
    target = TargetHealth.objects.create(owner=account.user, mode="test", origin="https://example.com:443")
    before = (account.profile.test_callback_auth_key, account.profile.test_api_key_hash)
    answer = strict_portal.post(
        url.format(delivery=delivery.id, inbox=inbox.id, target=target.id),
        {"url": "http://127.0.0.1:9/x", "mode": "live"},
    )
    assert answer.status_code == 403
    account.profile.refresh_from_db()
    assert (account.profile.test_callback_auth_key, account.profile.test_api_key_hash) == before
    assert account.profile.test_default_callback_url == ""
    assert "TEST side" in strict_portal.get("/portal/").content.decode()
    assert list(Inbox.objects.values_list("id", flat=True)) == [inbox.id]
    assert TargetHealth.objects.get(id=target.id).state == TargetHealth.State.HEALTHY


def test_using_a_link_without_csrf_is_refused(account):
    link = portal_link_create(user=account.user, account=account.profile, mode="test")
    assert Client(enforce_csrf_checks=True).post(link.path).status_code == 403
    assert Client().post(link.path).status_code == 302  # still unused


def test_the_same_post_with_the_token_works(strict_portal):
    page = strict_portal.get("/portal/settings")
    token = page.context["csrf_token"]
    answer = strict_portal.post("/portal/mode", {"mode": "test", "csrfmiddlewaretoken": str(token)})
    assert answer.status_code == 302
