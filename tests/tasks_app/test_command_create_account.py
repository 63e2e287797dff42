import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tasks_app.accounts import account_create
from tasks_app.models import Profile

pytestmark = pytest.mark.django_db


def test_create_account_prints_working_keys_once_and_stores_only_hashes(api):
    out = io.StringIO()

    call_command("create_account", "new@example.com", "--default-callback-url", "ops@example.com", stdout=out)

    live_key = re.search(r"Live API key:\s+(live_[0-9a-f]{32})", out.getvalue()).group(1)
    test_key = re.search(r"Test API key:\s+(test_[0-9a-f]{32})", out.getvalue()).group(1)
    profile = Profile.objects.get(user__email="new@example.com")
    assert profile.live_default_callback_url == "ops@example.com"
    assert profile.test_default_callback_url == ""
    stored = " ".join(str(v) for v in Profile.objects.values().get(id=profile.id).values())
    assert live_key not in stored and test_key not in stored
    assert profile.live_api_key_prefix == live_key[:9]
    assert api.as_key(live_key).get("/v1/task/0123456789abcdef01234567").status_code == 404
    assert api.as_key(test_key).get("/v1/task/0123456789abcdef01234567").status_code == 404


def test_create_account_refuses_an_existing_email(account):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_account", "customer@example.com", stdout=io.StringIO())


@pytest.mark.parametrize("existing", ["ada@example.com", "Ada@Example.com", "ADA@EXAMPLE.COM"])
def test_create_account_refuses_a_case_variant_of_an_existing_email(existing):
    # Given an account of ada@example.com
    account_create(email=existing)

    # When the operator creates an account of another case of the same address
    with pytest.raises(
        CommandError, match=re.escape("A user with the email address Ada@example.COM already exists")
    ):
        call_command("create_account", "Ada@example.COM", stdout=io.StringIO())

    # Then it is refused: one address, one user
    assert get_user_model().objects.filter(email__iexact="ada@example.com").count() == 1


@pytest.mark.parametrize("invited", ["ada@example.com", "Ada@Example.com"])
def test_a_pending_invitation_does_not_block_create_account(customer, invited):
    # Given a team invitation of the address (issue 25 F13: it used to squat the address)
    answer = customer.post("/v1/teams/invite", {"emails": [invited], "team_role": "member"}, format="json")
    assert answer.status_code == 200

    # When the operator creates an account of it
    call_command("create_account", "ada@example.com", stdout=io.StringIO())

    # Then the account is its address's one user, with its own keys
    users = list(get_user_model().objects.filter(email__iexact="ada@example.com"))
    assert [user.email for user in users] == ["ada@example.com"]
    assert Profile.objects.filter(user=users[0]).exists()


def test_create_account_refuses_an_invalid_default_callback_url():
    with pytest.raises(CommandError, match="default-callback-url"):
        call_command(
            "create_account", "x@example.com", "--default-callback-url", "ftp://x", stdout=io.StringIO()
        )


def test_create_account_allow_network_opens_networks_to_that_account(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = []
    out = io.StringIO()

    call_command(
        "create_account",
        "onprem@example.com",
        "--allow-network",
        "10.0.0.0/8",
        "--allow-network",
        "fd00::/8",
        "--default-callback-url",
        "http://10.1.2.3/hook",
        "--test-default-callback-url",
        "http://10.1.2.4/test-hook",
        stdout=out,
    )

    profile = Profile.objects.get(user__email="onprem@example.com")
    assert profile.allowed_networks == ["10.0.0.0/8", "fd00::/8"]
    assert profile.live_default_callback_url == "http://10.1.2.3/hook"
    assert profile.test_default_callback_url == "http://10.1.2.4/test-hook"
    assert "Allowed networks:       10.0.0.0/8, fd00::/8" in out.getvalue()


@pytest.mark.parametrize(
    "args, option",
    [
        (["--allow-network", "10.0.0.0/33"], "--allow-network"),
        (["--test-default-callback-url", "http://10.1.2.3/"], "--test-default-callback-url"),
    ],
)
def test_create_account_refuses_a_bad_network_or_a_private_url_without_allowance(settings, args, option):
    settings.CALLBACK_ALLOWED_NETWORKS = []

    with pytest.raises(CommandError, match=f"Invalid {option}"):
        call_command("create_account", "x@example.com", *args, stdout=io.StringIO())
    assert not Profile.objects.exists()
