"""Teams (SPEC §12) through the official ``scaleapi`` client against a live server: the owner
and the teammates it invited, each a user of the account with a role."""

import re

import pytest
from django.contrib.auth import get_user_model
from scaleapi import ScaleClient
from scaleapi.exceptions import ScaleDuplicateResource, ScaleInvalidRequest
from scaleapi.teams import TeammateRole

from tasks_app.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scale(live_server, account):
    return ScaleClient(account.live_api_key, api_instance_url=f"{live_server.url}/v1")


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
    }


def test_invite_teammates_then_list_them_with_the_owner(scale, account):
    invited = scale.invite_teammates(["ada@example.com", "Bob@Example.COM"], TeammateRole.Labeler)

    expected = {"customer@example.com": "admin", "ada@example.com": "labeler", "Bob@example.com": "labeler"}
    assert roles(invited) == expected
    assert roles(scale.list_teammates()) == expected
    ada = get_user_model().objects.get(email="ada@example.com")
    assert ada.membership.account == account.profile
    assert not ada.has_usable_password()  # it signs in through the portal's invitation, later


def test_the_test_key_sees_the_same_team(scale, live_server, account):
    scale.invite_teammates(["ada@example.com"], TeammateRole.Member)
    test_client = ScaleClient(account.test_api_key, api_instance_url=f"{live_server.url}/v1")

    assert roles(test_client.list_teammates()) == roles(scale.list_teammates())


def test_inviting_a_teammate_again_changes_nothing(scale):
    scale.invite_teammates(["ada@example.com"], TeammateRole.Manager)

    again = scale.invite_teammates(["ada@example.com"], TeammateRole.Labeler)

    assert roles(again)["ada@example.com"] == "manager"
    assert Membership.objects.count() == 1


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


def test_inviting_a_user_of_another_account_is_a_409(scale, other_account):
    with pytest.raises(ScaleDuplicateResource, match=re.escape("other@example.com")):
        scale.invite_teammates(["other@example.com"], TeammateRole.Member)

    assert not Membership.objects.exists()


def test_an_invalid_email_or_role_is_a_400(scale, live_server, account):
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


def test_another_account_does_not_see_the_team(scale, live_server, other_account):
    scale.invite_teammates(["ada@example.com"], TeammateRole.Member)
    other = ScaleClient(other_account.live_api_key, api_instance_url=f"{live_server.url}/v1")

    assert roles(other.list_teammates()) == {"other@example.com": "admin"}


def test_teammates_opt_in_to_alert_emails(customer, scale):
    scale.invite_teammates(["ada@example.com", "bob@example.com"], TeammateRole.Member)

    answer = customer.post(
        "/v1/teams/set_alert_emails", {"emails": ["ada@example.com"], "alert_emails": True}, format="json"
    )

    assert answer.status_code == 200
    assert {t["email"]: t["alertEmails"] for t in answer.json()} == {
        "customer@example.com": True,
        "ada@example.com": True,
        "bob@example.com": False,
    }
    assert Membership.objects.get(user__email="ada@example.com").alert_emails is True


def test_alert_emails_of_someone_not_a_teammate_is_a_400_naming_it(customer):
    answer = customer.post(
        "/v1/teams/set_alert_emails", {"emails": ["nobody@example.com"], "alert_emails": True}, format="json"
    )

    assert answer.status_code == 400
    assert "nobody@example.com" in str(answer.json())
