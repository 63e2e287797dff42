"""Every portal page and action is scoped to the account and the side (SPEC §14): another
account's object is a 404, whatever the method; a teammate sees the account; the live side
never shows test data."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from callbacks_app.models import Delivery, Recovery, TargetHealth
from inbox_app.models import CapturedRequest
from inbox_app.services import inbox_create
from tasks_app.batches import batch_create, project_create
from tasks_app.keys import hash_api_key
from tests.factories import teammate_create
from tests.portal_app.conftest import delivery_of, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def others_objects(other_account):
    """One of each object a portal URL names, all of the other account (test side)."""
    user = other_account.user
    project = project_create(owner=user, mode="test", name="p", task_type="categorization", params={})
    batch = batch_create(owner=user, mode="test", project_name="p", name="b")
    recovery = Recovery.objects.create(
        owner=user, is_test=True, since=timezone.now() - timedelta(hours=1), until=timezone.now()
    )
    inbox = inbox_create(profile=other_account.profile, mode="test", name="theirs")
    captured = CapturedRequest.objects.create(
        inbox=inbox, number=1, method="POST", path="/", received_at=timezone.now()
    )
    return {
        "inbox": inbox,
        "captured": captured,
        "delivery": delivery_of(user, is_test=True, status="failed"),
        "batch": batch,
        "project": project,
        "recovery": recovery,
        "target": TargetHealth.objects.create(owner=user, mode="test", origin="https://theirs.example:443"),
    }


# Every portal URL that names an object is tried as another account, whatever the method, by the
# authorization matrix (tests/security/test_authorization_matrix.py), read from the URL configuration.


def test_another_accounts_deliveries_are_not_listed(portal, others_objects, account):
    mine = delivery_of(account.user, is_test=True)
    page = portal.get("/portal/callbacks").content.decode()
    assert mine.id in page
    assert others_objects["delivery"].id not in page
    assert others_objects["delivery"].id not in portal.get("/portal/").content.decode()
    assert "b</a>" not in portal.get("/portal/batches").content.decode()
    assert "theirs" not in portal.get("/portal/inboxes").content.decode()


def test_the_live_side_never_shows_test_data(portal_live, account):
    test_delivery = delivery_of(account.user, is_test=True, status="failed")
    live_delivery = delivery_of(account.user, is_test=False)
    listed = portal_live.get("/portal/callbacks").content.decode()
    assert live_delivery.id in listed
    assert test_delivery.id not in listed
    assert test_delivery.id not in portal_live.get("/portal/").content.decode()
    assert portal_live.get(f"/portal/callbacks/{test_delivery.id}").status_code == 404
    assert portal_live.post(f"/portal/callbacks/{test_delivery.id}/resend").status_code == 404


def test_the_side_switch_changes_what_is_shown(portal_both, account):
    portal = portal_both
    test_delivery = delivery_of(account.user, is_test=True)
    assert portal.get(f"/portal/callbacks/{test_delivery.id}").status_code == 200
    answer = portal.post("/portal/mode", {"mode": "live", "next": "/portal/callbacks"})
    assert answer.status_code == 302
    assert answer["Location"] == "/portal/callbacks"
    assert portal.get(f"/portal/callbacks/{test_delivery.id}").status_code == 404
    assert "LIVE side" in portal.get("/portal/").content.decode()


def test_a_teammate_sees_the_accounts_data(account):
    mate = teammate_create(account=account.profile, email="mate@example.com", role="member")
    delivery = delivery_of(account.user, is_test=True)
    client = signed_in(Client(), user=mate, account=account.profile, mode="test")
    answer = client.get(f"/portal/callbacks/{delivery.id}")
    assert answer.status_code == 200
    assert "teammate of customer@example.com" in answer.content.decode()
    assert delivery.id in client.get("/portal/callbacks").content.decode()


def test_a_teammate_who_is_not_an_admin_cannot_rotate_keys(account):
    mate = teammate_create(account=account.profile, email="mate@example.com", role="member")
    before = account.profile.test_callback_auth_key
    client = signed_in(Client(), user=mate, account=account.profile, mode="test")
    assert client.post("/portal/settings/rotate/callback-auth-key").status_code == 403
    account.profile.refresh_from_db()
    assert account.profile.test_callback_auth_key == before


def test_a_removed_teammate_is_signed_out(account):
    mate = teammate_create(account=account.profile, email="mate@example.com", role="member")
    client = signed_in(Client(), user=mate, account=account.profile, mode="test")
    account.profile.memberships.all().delete()
    answer = client.get("/portal/callbacks")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/portal/sign-in")


def test_an_unknown_portal_url_is_a_404_in_the_portal_layout(portal):
    answer = portal.get("/portal/no-such-page")
    assert answer.status_code == 404
    assert b"ScaleHooks portal" in answer.content


def test_pages_need_a_signed_in_member():
    answer = Client().get("/portal/callbacks")
    assert answer.status_code == 302
    assert answer["Location"] == "/portal/sign-in?next=%2Fportal%2Fcallbacks"


def test_a_rotated_secret_is_shown_once(portal_both, account):
    portal = portal_both
    answer = portal.post("/portal/settings/rotate/api-keys", {"confirm": "yes"})
    account.profile.refresh_from_db()
    shown = answer.content.decode()
    key = re.search(r"test_[0-9a-f]{32}", shown).group(0)
    assert hash_api_key(key) == account.profile.test_api_key_hash
    assert "no-store" in answer["Cache-Control"]
    assert key not in portal.get("/portal/settings").content.decode()
    assert key not in str(list(portal.session.items()))


def test_a_refused_action_goes_back_to_its_page_with_the_reason(portal):
    answer = portal.post("/portal/settings/test-callback", HTTP_REFERER="http://testserver/portal/settings")
    assert answer["Location"] == "http://testserver/portal/settings"
    assert "no default callback URL" in portal.get("/portal/settings").content.decode()


def test_a_redirect_never_leaves_the_site(portal_both):
    portal = portal_both
    answer = portal.post("/portal/mode", {"mode": "live", "next": "https://evil.example/"})
    assert answer["Location"] == "/portal/"
    answer = portal.post("/portal/settings/test-callback", HTTP_REFERER="https://evil.example/x")
    assert answer["Location"] == "/portal/"


def test_a_test_keys_callback_is_shown_on_the_test_side_only(
    customer_test_mode, portal, portal_live, account
):
    """The whole path of a test task's callback, through the API (it completes itself, §13):
    its delivery is the test side's, however the completion writes it."""
    created = customer_test_mode.post(
        "/v1/task/categorization",
        {"callback_url": "https://example.com/hook", "attachment": "a", "categories": ["x", "y"]},
        format="json",
    )
    assert created.status_code == 200, created.content
    delivery = Delivery.objects.get(task_id=created.json()["task_id"])
    assert delivery.is_test
    assert delivery.id in portal.get("/portal/callbacks").content.decode()
    assert delivery.id not in portal_live.get("/portal/callbacks").content.decode()
    assert portal_live.get(f"/portal/callbacks/{delivery.id}").status_code == 404
