"""A team's invitations (SPEC §8 "People", §12, issue 25 F1): a link mailed to the invited address,
whose page shows who invites (GET) and whose button accepts (POST): the user and its membership
are made then, and the invitee is signed in to the portal to set a password."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tasks_app.invitations import invitation_send, invitations_create
from tasks_app.models import Invitation, Membership

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/portal/invitations/[A-Za-z0-9_-]+)")
PASSWORD = "a-long-portal-password"


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_the_mailed_link_asks_then_accepts_once_and_signs_the_invitee_in(
    start_cluster, account, customer, smtp_server, settings
):
    settings.PUBLIC_BASE_URL = "http://testserver"
    start_cluster(
        EMAIL_URL=f"smtp://{smtp_server.host}:{smtp_server.port}", PUBLIC_BASE_URL="http://testserver"
    )
    # Given an invitation, mailed by the cluster's job
    invited = customer.post(
        "/v1/teams/invite", {"emails": ["Ada@Example.com"], "team_role": "manager"}, format="json"
    )
    assert invited.status_code == 200
    (message,) = smtp_server.wait_for(1, timeout=30)
    assert message.rcpt_tos == ["ada@example.com"]
    assert "customer@example.com" in message.body
    link = LINK.search(message.body).group(1)

    # When the link is fetched (as a mail scanner does)
    browser = Client()
    page = browser.get(link)

    # Then its page says who invites and as what, and nothing is accepted
    assert page.status_code == 200
    assert "customer@example.com" in page.content.decode()
    assert "manager" in page.content.decode()
    assert not get_user_model().objects.filter(email__iexact="ada@example.com").exists()

    # When its button is pressed
    accepted = browser.post(link)

    # Then the invitee is a teammate without a password, signed in to the settings page to set one
    assert accepted.status_code == 302
    assert accepted["Location"] == "/portal/settings"
    ada = get_user_model().objects.get(email="ada@example.com")
    assert not ada.has_usable_password()
    assert (ada.membership.account, ada.membership.role) == (account.profile, "manager")
    settings_page = browser.get("/portal/settings").content.decode()
    assert "ada@example.com" in settings_page
    assert "You have no password yet" in settings_page
    set_password = {"new_password1": PASSWORD, "new_password2": PASSWORD}
    assert browser.post("/portal/settings/password", set_password).status_code == 302
    (entry,) = [t for t in customer.get("/v1/teams").json() if t["email"] == "ada@example.com"]
    assert entry["status"] == "active"

    # When the link is used again
    again = Client().post(link)

    # Then it says it was used, and changes nothing
    assert again.status_code == 410
    assert Membership.objects.count() == 1


@pytest.fixture
def mailed_link(account, smtp_server, settings):
    """The path of the link mailed to ada@example.com, invited as a manager (the send job's
    service run in this process)."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    invitations_create(account=account.profile, emails=["ada@example.com"], role="manager")
    assert invitation_send(invitation_id=Invitation.objects.get().id)
    return LINK.search(smtp_server.messages[-1].body).group(1)


def test_accepting_signs_in_to_both_sides(mailed_link):
    browser = Client()
    browser.post(mailed_link)

    assert "TEST side" in browser.get("/portal/").content.decode()
    assert browser.post("/portal/mode", {"mode": "live"}).status_code == 302
    assert "LIVE side" in browser.get("/portal/").content.decode()


def test_an_address_that_has_a_user_by_then_cannot_accept_and_nothing_is_attached(mailed_link):
    # Given the operator made an account of the address after it was invited
    call_command("create_account", "Ada@Example.com", stdout=io.StringIO())

    # When the mailed link is opened and its button pressed
    shown, pressed = Client().get(mailed_link), Client().post(mailed_link)

    # Then it says the invitation can no longer be accepted, and attaches nobody
    for answer in (shown, pressed):
        assert answer.status_code == 409
        assert "can no longer be accepted" in answer.content.decode()
    assert not Membership.objects.exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_expired_link_has_its_own_page_and_accepts_nothing(mailed_link):
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    answer = Client().post(mailed_link)

    assert answer.status_code == 410
    assert "This invitation has expired" in answer.content.decode()
    assert not get_user_model().objects.filter(email="ada@example.com").exists()


def test_an_unknown_link_is_a_404():
    assert Client().get("/portal/invitations/not-a-token").status_code == 404
    assert Client().post("/portal/invitations/not-a-token").status_code == 404


def test_accepting_needs_the_pages_csrf_token(mailed_link):
    assert Client(enforce_csrf_checks=True).post(mailed_link).status_code == 403
    assert not Membership.objects.exists()


def test_the_link_page_keeps_its_token_out_of_referrers_and_caches(mailed_link):
    answer = Client().get(mailed_link)

    assert answer["Referrer-Policy"] == "no-referrer"
    assert "no-store" in answer["Cache-Control"]


def test_the_settings_page_lists_a_pending_invitation_as_pending(account, portal):
    invitations_create(account=account.profile, emails=["ada@example.com"], role="labeler")

    team = portal.get("/portal/settings").content.decode()

    row = re.search(r"<tr class=\"invited\"><td>ada@example.com</td><td>labeler</td><td>([^<]*)</td>", team)
    assert row is not None
    assert "pending" in row.group(1)
