"""Teams (SPEC §12) through the official ``scaleapi`` client against a live server: the owner, the
teammates who accepted an invitation, each a user of the account with a role, and the pending
invitations (``status`` "invited"; accepting them: tests/portal_app/test_invitations.py)."""

import re

import pytest
from django.contrib.auth import get_user_model
from scaleapi.exceptions import ScaleInvalidRequest
from scaleapi.teams import TeammateRole

from tasks_app.models import Invitation, Membership
from tests.factories import teammate_create

pytestmark = pytest.mark.django_db(transaction=True)


def roles(teammates) -> dict:
    return {t.email: t.role for t in teammates}


def test_list_teammates_shows_the_owner_alone_at_first(scale):
    (owner,) = scale.list_teammates()

    assert owner.email == "customer@example.com"
    assert owner.role == "admin"
    assert owner.as_dict() == {
        "email": "customer@example.com",
        "role": "admin",
        "firstName": "",
        "lastName": "",
        "alertEmails": True,  # ours (SPEC §16): the owner always gets the callback target alerts
        "status": "active",  # ours: "invited" for a pending invitation
    }


def test_invite_teammates_then_list_them_with_the_owner(scale, account):
    invited = scale.invite_teammates(["ada@example.com", "Bob@Example.COM"], TeammateRole.Labeler)

    expected = {"customer@example.com": "admin", "ada@example.com": "labeler", "bob@example.com": "labeler"}
    assert roles(invited) == expected
    assert roles(scale.list_teammates()) == expected
    statuses = {t["email"]: t["status"] for t in scale.api.get_request("teams")}
    assert statuses == {
        "customer@example.com": "active",
        "ada@example.com": "invited",
        "bob@example.com": "invited",
    }
    # pending until accepted through the mailed link: nobody is made or attached before
    assert not get_user_model().objects.exclude(id=account.user.id).exists()
    assert not Membership.objects.exists()


def test_the_test_key_sees_the_same_team(scale, scale_test):
    scale.invite_teammates(["ada@example.com"], TeammateRole.Member)
    test_client = scale_test

    assert roles(test_client.list_teammates()) == roles(scale.list_teammates())


def test_inviting_a_teammate_again_changes_nothing(scale, account):
    teammate_create(account=account.profile, email="ada@example.com", role="manager")

    again = scale.invite_teammates(["Ada@example.com"], TeammateRole.Labeler)

    assert roles(again)["ada@example.com"] == "manager"
    assert Membership.objects.count() == 1
    assert not Invitation.objects.exists()


def test_inviting_a_pending_address_again_changes_its_role_and_keeps_one_invitation(scale):
    scale.invite_teammates(["ada@example.com"], TeammateRole.Manager)

    again = scale.invite_teammates(["ADA@example.com"], TeammateRole.Labeler)

    assert roles(again) == {"customer@example.com": "admin", "ada@example.com": "labeler"}
    assert Invitation.objects.count() == 1


def test_set_role(scale):
    scale.invite_teammates(["ada@example.com", "bob@example.com"], TeammateRole.Labeler)

    updated = scale.update_teammates_role(["ada@example.com"], TeammateRole.Manager)

    assert roles(updated) == {
        "customer@example.com": "admin",
        "ada@example.com": "manager",
        "bob@example.com": "labeler",
    }
    (ada,) = [t for t in scale.list_teammates() if t.email == "ada@example.com"]
    assert ada.update_teammate_role(TeammateRole.Member)[1].role == "member"


def test_set_role_of_someone_not_in_the_team_or_of_the_owner_is_a_400(scale):
    with pytest.raises(ScaleInvalidRequest, match=re.escape("nobody@example.com")):
        scale.update_teammates_role(["nobody@example.com"], TeammateRole.Admin)
    with pytest.raises(ScaleInvalidRequest, match="owner"):
        scale.update_teammates_role(["customer@example.com"], TeammateRole.Labeler)


def test_inviting_a_user_of_another_account_is_answered_as_any_address_and_attaches_nothing(
    scale, other_account
):
    # the whole chain, and every other kind of user: tests/security/test_team_invitations.py
    invited = scale.invite_teammates(["Other@example.com"], TeammateRole.Member)

    assert roles(invited) == {"customer@example.com": "admin", "other@example.com": "member"}
    assert not Membership.objects.exists()


def test_an_invalid_email_or_role_is_a_400(scale):
    with pytest.raises(ScaleInvalidRequest, match="emails"):
        scale.invite_teammates(["not an email"], TeammateRole.Member)
    with pytest.raises(ScaleInvalidRequest, match="team_role"):
        scale.api.post_request("teams/invite", {"emails": ["ada@example.com"], "team_role": "boss"})
    assert not Membership.objects.exists()


def test_an_email_longer_than_a_user_name_may_be_is_a_400(scale):
    # given a valid address of 151 characters (a teammate's user name is its email, at most 150)
    email = "a" * 64 + "@" + "b" * 60 + "." + "c" * 30 + ".example"
    assert len(email) > get_user_model()._meta.get_field("username").max_length

    # when it is invited, then it is refused, and nobody was created
    with pytest.raises(ScaleInvalidRequest, match="emails"):
        scale.invite_teammates([email], TeammateRole.Member)
    assert not get_user_model().objects.filter(email=email).exists()


def test_another_account_does_not_see_the_team(scale, scale_as, other_account):
    scale.invite_teammates(["ada@example.com"], TeammateRole.Member)
    other = scale_as(other_account.live_api_key)

    assert roles(other.list_teammates()) == {"other@example.com": "admin"}


def test_teammates_opt_in_to_alert_emails(customer, account):
    for email in ("ada@example.com", "bob@example.com"):
        teammate_create(account=account.profile, email=email)

    answer = customer.post(
        "/v1/teams/set_alert_emails", {"emails": ["Ada@example.com"], "alert_emails": True}, format="json"
    )

    assert answer.status_code == 200
    assert {t["email"]: t["alertEmails"] for t in answer.json()} == {
        "customer@example.com": True,
        "ada@example.com": True,
        "bob@example.com": False,
    }
    assert Membership.objects.get(user__email="ada@example.com").alert_emails is True


def test_a_pending_invitation_cannot_be_opted_in_to_alert_emails(customer, scale):
    scale.invite_teammates(["ada@example.com"], TeammateRole.Member)

    answer = customer.post(
        "/v1/teams/set_alert_emails", {"emails": ["ada@example.com"], "alert_emails": True}, format="json"
    )

    assert answer.status_code == 400
    assert "ada@example.com" in answer.json()["error"]
    assert "confirmed by accepting" in answer.json()["error"]


def test_set_role_of_a_pending_invitation_and_of_a_teammate_in_any_case(customer, scale, account):
    teammate_create(account=account.profile, email="bob@example.com", role="member")
    scale.invite_teammates(["ada@example.com"], TeammateRole.Labeler)

    answer = customer.post(
        "/v1/teams/set_role",
        {"emails": ["ADA@example.com", "Bob@Example.com"], "team_role": "admin"},
        format="json",
    )

    assert answer.status_code == 200
    assert {t["email"]: (t["role"], t["status"]) for t in answer.json()} == {
        "customer@example.com": ("admin", "active"),
        "bob@example.com": ("admin", "active"),
        "ada@example.com": ("admin", "invited"),
    }


def test_alert_emails_of_someone_not_a_teammate_is_a_400_naming_it(customer):
    answer = customer.post(
        "/v1/teams/set_alert_emails", {"emails": ["nobody@example.com"], "alert_emails": True}, format="json"
    )

    assert answer.status_code == 400
    assert "nobody@example.com" in str(answer.json())


def test_case_variants_of_an_address_are_one_invitation(customer):
    # When the key invites one address in three cases (issue 25 F13)
    answer = customer.post(
        "/v1/teams/invite",
        {"emails": ["ADA@example.com", "ada@example.com", "Ada@Example.COM"], "team_role": "member"},
        format="json",
    )

    # Then the team lists one invitation, of the address in lower case, and no user was made
    assert answer.status_code == 200
    assert [t["email"] for t in answer.json()] == ["customer@example.com", "ada@example.com"]
    assert not get_user_model().objects.filter(email__iexact="ada@example.com").exists()
