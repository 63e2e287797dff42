"""``manage.py rotate_keys EMAIL --api|--callback-auth|--signing`` (SPEC §3)."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from tasks_app.models import Profile

pytestmark = pytest.mark.django_db


def rotate(*args) -> str:
    out = io.StringIO()
    call_command("rotate_keys", "customer@example.com", *args, stdout=out)
    return out.getvalue()


def test_rotate_api_keys_prints_working_new_keys_and_the_old_ones_stop(api, account):
    old_live = account.live_api_key

    out = rotate("--api")

    live = re.search(r"Live API key:\s+(live_[0-9a-f]{32})", out).group(1)
    test = re.search(r"Test API key:\s+(test_[0-9a-f]{32})", out).group(1)
    assert api.as_key(old_live).get("/v1/task/" + "0" * 24).status_code == 401
    assert api.as_key(live).get("/v1/task/" + "0" * 24).status_code == 404
    assert api.as_key(test).get("/v1/task/" + "0" * 24).status_code == 404


def test_rotate_callback_auth_keys_prints_both_new_keys(account):
    profile = account.profile
    old = profile.live_callback_auth_key

    out = rotate("--callback-auth")

    profile.refresh_from_db()
    assert profile.live_callback_auth_key != old
    assert f"Live callback auth key: {profile.live_callback_auth_key}" in out
    assert f"Test callback auth key: {profile.test_callback_auth_key}" in out


def test_rotate_callback_auth_key_of_one_mode(account):
    profile = account.profile
    old_test = profile.test_callback_auth_key

    out = rotate("--callback-auth", "--mode", "live")

    profile.refresh_from_db()
    assert profile.test_callback_auth_key == old_test
    assert "Test callback auth key" not in out


def test_rotate_signing_secret_prints_it_and_keeps_the_old_one_for_24_hours(account):
    profile = account.profile
    old = profile.live_signing_secret

    out = rotate("--signing")

    profile.refresh_from_db()
    assert f"Live signing secret:    {profile.live_signing_secret}" in out
    assert f"Test signing secret:    {profile.test_signing_secret}" in out
    assert profile.live_previous_signing_secret == old
    assert "stays valid until" in out
    assert old not in out


def test_rotate_signing_secret_of_one_mode_leaves_the_other(account):
    profile = account.profile
    live, test = profile.live_signing_secret, profile.test_signing_secret

    out = rotate("--signing", "--mode", "test")

    profile.refresh_from_db()
    assert profile.live_signing_secret == live and profile.live_previous_signing_secret == ""
    assert profile.test_signing_secret != test and profile.test_previous_signing_secret == test
    assert f"Test signing secret:    {profile.test_signing_secret}" in out
    assert "Live signing secret" not in out


def test_rotate_keys_needs_something_to_rotate(account):
    with pytest.raises(CommandError, match="--api"):
        rotate()


def test_rotate_keys_of_an_unknown_account_is_an_error(db):
    with pytest.raises(CommandError, match="No account"):
        call_command("rotate_keys", "nobody@example.com", "--signing", stdout=io.StringIO())
    assert not Profile.objects.exists()
