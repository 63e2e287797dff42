"""Issue 25 F1: an API key cannot take over an existing user through the team (SPEC §8 "People").

The chain the penetration test walked: ``POST /v1/teams/invite`` with the address of an
existing user (a ``createsuperuser`` superuser, a staff user, anybody), then ``POST
/v1/portal/sessions {"email": ...}`` for a sign-in link as that user, then
``/portal/settings/password``. An invitation never attaches an existing user: it is pending
until the address's holder accepts it through the mailed link, and its answer is the same,
whoever the address belongs to.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tasks_app.models import Membership

pytestmark = pytest.mark.django_db

PASSWORD = "the-holders-own-password"
ATTACKERS_PASSWORD = "attacker-chosen-password-1"


@pytest.fixture
def existing_users(monkeypatch, other_account):
    """Users that exist before the invitation: a superuser made by ``createsuperuser``, a staff
    user made in the admin, a plain user with a name, and another account's owner."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", username="root", email="root@ops.example", verbosity=0)
    User = get_user_model()
    User.objects.create_user("staff", "staff@ops.example", PASSWORD, is_staff=True)
    User.objects.create_user("plain@example.com", "plain@example.com", PASSWORD, first_name="Grace")
    other_account.user.set_password(PASSWORD)
    other_account.user.save()
    return {user.email.lower(): user for user in User.objects.all()}


def invite(customer, email: str):
    return customer.post("/v1/teams/invite", {"emails": [email], "team_role": "admin"}, format="json")


def entry_of(answer, email: str) -> dict:
    """The team member ``email`` of an answer listing the team, its email left out."""
    (entry,) = [t for t in answer.json() if t["email"].lower() == email.lower()]
    return {key: value for key, value in entry.items() if key != "email"}


@pytest.mark.parametrize(
    "address",
    ["root@ops.example", "Root@Ops.Example", "staff@ops.example", "plain@example.com", "other@example.com"],
)
def test_inviting_an_existing_users_address_attaches_nothing_and_opens_no_session(
    customer, existing_users, address
):
    # Given a user who holds the address (whatever its case in the invitation)
    holder = existing_users[address.lower()]

    # When the key invites the address as an admin, asks for a portal sign-in link as that
    # address, and a browser uses whatever link came to set a password
    invited = invite(customer, address)
    link = customer.post("/v1/portal/sessions", {"email": address}, format="json")
    browser = Client()
    if link.status_code == 200:
        browser.post(link.json()["url"].removeprefix("http://testserver"))
    changed = browser.post(
        "/portal/settings/password",
        {"new_password1": ATTACKERS_PASSWORD, "new_password2": ATTACKERS_PASSWORD},
    )

    # Then the holder's password is still the holder's: no session set it
    holder.refresh_from_db()
    assert not holder.check_password(ATTACKERS_PASSWORD), "the key took the existing user over"
    assert holder.check_password(PASSWORD)
    assert changed.status_code == 302
    assert changed["Location"].startswith("/portal/sign-in")
    # and the invitation attached nobody, no link was given, and the answer is the one any
    # address gets: the address listed as invited
    assert not Membership.objects.filter(user=holder).exists(), "the invitation attached an existing user"
    assert link.status_code == 400, link.content
    assert invited.status_code == 200, invited.content
    assert entry_of(invited, address).get("status") == "invited"


@pytest.mark.parametrize(
    "address", ["root@ops.example", "staff@ops.example", "plain@example.com", "other@example.com"]
)
def test_the_invitations_answer_is_the_same_for_an_existing_user_as_for_a_fresh_address(
    customer, existing_users, address
):
    # Given the answer to the invitation of an address nobody holds
    fresh = invite(customer, "fresh@example.com")

    # When an existing user's address is invited
    existing = invite(customer, address)

    # Then its answer says the same of it as of the fresh address (no oracle of who exists)
    assert (existing.status_code, existing["Content-Type"]) == (fresh.status_code, fresh["Content-Type"])
    assert entry_of(existing, address) == entry_of(fresh, "fresh@example.com")
    assert entry_of(existing, "fresh@example.com") == entry_of(fresh, "fresh@example.com")
    assert customer.get("/v1/teams").json() == existing.json()
