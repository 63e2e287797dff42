"""A portal session's reach (SPEC §8 "Modes", "Roles", "Sessions"), as an attacker holding one key
or one teammate's session would try it. Sessions are opened the way customers open them: a link
from ``POST /v1/portal/sessions`` with an API key, used in a browser (issue 25, F4, F11, F15, F17).
"""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from callbacks_app.models import Delivery, TargetHealth
from tasks_app.keys import hash_api_key
from tasks_app.models import Membership, Profile
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db

LIVE_URL = "https://live.example.com/hook"
NEW_URL = "https://attacker.example.com/hook"


def session(api, key: str, *, email: str | None = None) -> Client:
    """A browser signed in through the link an API key asked for (for ``email``'s person)."""
    answer = api.as_key(key).post("/v1/portal/sessions", {"email": email} if email else {}, format="json")
    assert answer.status_code == 200, answer.content
    browser = Client()
    signed = browser.post(answer.json()["url"].removeprefix("http://testserver"))
    assert signed.status_code == 302, signed.content
    return browser


def teammate(account, role: str) -> str:
    """An accepted teammate of ``account`` with ``role``; its email."""
    email = f"{role}@example.com"
    user = get_user_model().objects.create_user(username=email, email=email)
    Membership.objects.create(account=account.profile, user=user, role=role)
    return email


def keys_of(account) -> tuple:
    profile = Profile.objects.get(pk=account.profile.pk)
    return profile.live_api_key_hash, profile.test_api_key_hash, profile.live_callback_auth_key


@pytest.fixture
def live_settings(account):
    Profile.objects.filter(pk=account.profile.pk).update(live_default_callback_url=LIVE_URL)


# --- F4: a test key's session stays on the test side -------------------------------------------


def test_a_test_keys_session_cannot_switch_to_live(api, account):
    browser = session(api, account.test_api_key)

    answer = browser.post("/portal/mode", {"mode": "live"})

    assert answer.status_code == 403
    assert "TEST side" in browser.get("/portal/").content.decode()


def test_a_test_keys_session_cannot_rotate_the_api_keys(api, account):
    browser = session(api, account.test_api_key)
    before = keys_of(account)

    answer = browser.post("/portal/settings/rotate/api-keys", {"confirm": "yes"})

    assert answer.status_code == 403
    assert keys_of(account) == before
    assert "live_" not in answer.content.decode()


def test_a_test_keys_session_cannot_change_the_live_default_url(api, account, live_settings):
    browser = session(api, account.test_api_key)

    browser.post("/portal/mode", {"mode": "live"})
    browser.post("/portal/settings/default-url", {"url": NEW_URL})

    assert Profile.objects.get(pk=account.profile.pk).live_default_callback_url == LIVE_URL


def test_a_test_keys_session_cannot_set_a_password_that_would_sign_in_to_live(api, account):
    browser = session(api, account.test_api_key)
    password = "a-long-portal-password"

    answer = browser.post("/portal/settings/password", {"new_password1": password, "new_password2": password})

    assert answer.status_code == 403
    assert not get_user_model().objects.get(pk=account.user.pk).has_usable_password()


def test_a_live_keys_session_reaches_both_sides(api, account):
    # the control of the tests above
    browser = session(api, account.live_api_key)

    assert browser.post("/portal/mode", {"mode": "test"}).status_code == 302
    assert browser.post("/portal/mode", {"mode": "live"}).status_code == 302
    assert "LIVE side" in browser.get("/portal/").content.decode()


def test_a_test_key_cannot_change_the_team_through_the_api(api, account):
    answer = api.as_key(account.test_api_key).post(
        "/v1/teams/invite", {"emails": ["mate@example.com"], "team_role": "admin"}, format="json"
    )

    assert answer.status_code == 403
    assert "live API key" in answer.json()["error"]
    assert not Membership.objects.exists()


# --- F11: roles, in one place --------------------------------------------------------------------


@pytest.fixture
def failed_live_delivery(account):
    task = TaskFactory(owner=account.user, is_test=False, status="completed", callback_url=LIVE_URL)
    return DeliveryFactory(task=task, owner=account.user, status="failed", target=LIVE_URL)


@pytest.fixture
def live_target(account):
    return TargetHealth.objects.create(
        owner=account.user, mode="live", origin="https://live.example.com:443", state="failing"
    )


def attempts(browser: Client, delivery, target) -> dict[str, int]:
    """Every settings-changing, resending or pausing action of the live side, tried once."""
    now = timezone.now()
    window = {
        "since": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "until": now.strftime("%Y-%m-%dT%H:%M"),
    }
    return {
        "default-url": browser.post("/portal/settings/default-url", {"url": NEW_URL}).status_code,
        "rotate-auth": browser.post(
            "/portal/settings/rotate/callback-auth-key", {"confirm": "yes"}
        ).status_code,
        "rotate-keys": browser.post("/portal/settings/rotate/api-keys", {"confirm": "yes"}).status_code,
        "resend": browser.post(f"/portal/callbacks/{delivery.id}/resend").status_code,
        "recover": browser.post("/portal/recover", {**window, "step": "start"}).status_code,
        "pause": browser.post(f"/portal/targets/{target.id}/pause").status_code,
    }


@pytest.mark.parametrize("role", ["labeler", "member"])
def test_a_reading_teammate_changes_nothing(
    api, account, live_settings, failed_live_delivery, live_target, role
):
    browser = session(api, account.live_api_key, email=teammate(account, role))
    before = keys_of(account)

    answers = attempts(browser, failed_live_delivery, live_target)

    assert answers == dict.fromkeys(answers, 403)
    assert keys_of(account) == before
    assert Profile.objects.get(pk=account.profile.pk).live_default_callback_url == LIVE_URL
    assert Delivery.objects.count() == 1
    assert TargetHealth.objects.get(pk=live_target.pk).paused_at is None
    assert browser.get(f"/portal/callbacks/{failed_live_delivery.id}").status_code == 200  # reading is fine


def test_a_manager_resends_but_changes_no_settings(
    api, account, live_settings, failed_live_delivery, live_target
):
    browser = session(api, account.live_api_key, email=teammate(account, "manager"))
    before = keys_of(account)

    answers = attempts(browser, failed_live_delivery, live_target)

    assert answers["resend"] == 302
    assert {
        name: answers[name] for name in ("default-url", "rotate-auth", "rotate-keys", "pause")
    } == dict.fromkeys(("default-url", "rotate-auth", "rotate-keys", "pause"), 403)
    assert keys_of(account) == before
    assert Delivery.objects.count() == 2  # the resend


def test_an_admin_teammate_changes_settings(api, account, live_settings, failed_live_delivery, live_target):
    browser = session(api, account.live_api_key, email=teammate(account, "admin"))

    answer = browser.post("/portal/settings/default-url", {"url": NEW_URL})

    assert answer.status_code == 302
    assert Profile.objects.get(pk=account.profile.pk).live_default_callback_url == NEW_URL


# --- F15: when a session ends --------------------------------------------------------------------


def test_rotating_the_key_that_opened_a_session_ends_it(api, account):
    browser = session(api, account.live_api_key)
    assert browser.get("/portal/").status_code == 200

    owner = session(api, account.live_api_key)  # the key holder rotates the keys in another browser
    owner.post("/portal/settings/rotate/api-keys", {"confirm": "yes"})

    assert browser.get("/portal/").status_code == 302
    assert owner.get("/portal/").status_code == 302  # opened by the same key
    assert hash_api_key(account.live_api_key) != Profile.objects.get(pk=account.profile.pk).live_api_key_hash


def test_a_password_sign_in_survives_a_key_rotation(api, account):
    password = "a-long-portal-password"
    user = account.user
    user.set_password(password)
    user.save()
    browser = Client()
    assert browser.post("/portal/sign-in", {"email": user.email, "password": password}).status_code == 302

    browser.post("/portal/settings/rotate/api-keys", {"confirm": "yes"})

    assert browser.get("/portal/").status_code == 200


def test_a_teammate_who_leaves_the_team_is_signed_out(api, account):
    email = teammate(account, "admin")
    browser = session(api, account.live_api_key, email=email)
    assert browser.get("/portal/").status_code == 200

    Membership.objects.filter(user__email=email).delete()

    assert browser.get("/portal/").status_code == 302


def test_a_session_ends_after_twelve_hours_without_a_request(api, account):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        browser = session(api, account.live_api_key)
        traveller.shift(timedelta(hours=11, minutes=59))
        assert browser.get("/portal/").status_code == 200  # a request keeps it alive
        traveller.shift(timedelta(hours=11, minutes=59))
        assert browser.get("/portal/").status_code == 200
        traveller.shift(timedelta(hours=12, minutes=1))
        assert browser.get("/portal/").status_code == 302


def test_a_user_made_staff_is_signed_out_of_the_portal(api, account):
    browser = session(api, account.live_api_key)
    get_user_model().objects.filter(pk=account.user.pk).update(is_staff=True)

    assert browser.get("/portal/").status_code == 302


# --- F17: a rotation says what stops working and asks first --------------------------------------


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/portal/settings/rotate/api-keys", "Both API keys stop working at once"),
        ("/portal/settings/rotate/callback-auth-key", "scale-callback-auth"),
        ("/portal/settings/rotate/signing-secret", "After 24 hours"),
    ],
)
def test_a_rotation_asks_for_a_confirmation_first(api, account, path, says):
    browser = session(api, account.live_api_key)
    before = keys_of(account), Profile.objects.get(pk=account.profile.pk).live_signing_secret

    answer = browser.post(path)

    assert answer.status_code == 200
    assert says in answer.content.decode()
    assert (keys_of(account), Profile.objects.get(pk=account.profile.pk).live_signing_secret) == before
    confirmed = browser.post(path, {"confirm": "yes"})
    assert confirmed.status_code == 200
    assert (keys_of(account), Profile.objects.get(pk=account.profile.pk).live_signing_secret) != before
