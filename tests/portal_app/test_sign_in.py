"""Signing in to the portal (SPEC §14): one-time links, passwords under django-axes' lockout,
and a portal session that is not an admin session (and leaves an operator's alone)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from portal_app.links import portal_link_create
from portal_app.models import PortalLink
from tests.factories import teammate_create
from tests.portal_app.conftest import signed_in

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-portal-password"


def test_a_link_signs_in_once_and_then_says_it_was_used(account):
    link = portal_link_create(user=account.user, account=account.profile, mode="test")
    first = Client()
    assert first.get(link.path).status_code == 200  # asks: a scanner fetching it uses nothing
    assert first.post(link.path).status_code == 302
    assert first.get("/portal/").status_code == 200

    again = Client().post(link.path)
    assert again.status_code == 410
    assert "This link was already used" in again.content.decode()
    assert Client().get(link.path).status_code == 410


def test_an_expired_link_has_its_own_page(account):
    link = portal_link_create(user=account.user, account=account.profile, mode="test")
    PortalLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = Client().post(link.path)
    assert answer.status_code == 410
    assert "This link has expired" in answer.content.decode()
    assert PortalLink.objects.get().used_at is None


def test_an_unknown_link_is_a_404():
    assert Client().get("/portal/link/not-a-token").status_code == 404


def test_only_the_tokens_hash_is_stored(account):
    link = portal_link_create(user=account.user, account=account.profile, mode="test")
    token = link.path.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 22  # 128 bits, base64url
    assert PortalLink.objects.get().token_hash != token
    assert not PortalLink.objects.filter(token_hash__contains=token).exists()


def test_the_api_gives_a_link_to_the_keys_side(api, account):
    answer = api.as_key(account.live_api_key).post("/v1/portal/sessions")
    assert answer.status_code == 200
    url = answer.json()["url"]
    assert url.startswith("http://testserver/portal/link/")
    assert answer.json()["expires_at"].endswith("Z")
    client = Client()
    client.post(url.removeprefix("http://testserver"))
    assert "LIVE side" in client.get("/portal/").content.decode()


def test_the_api_gives_a_teammate_a_link_but_nobody_else(api, account, other_account):
    teammate_create(account=account.profile, email="mate@example.com", role="member")
    client = api.as_key(account.test_api_key)
    url = client.post("/v1/portal/sessions", {"email": "Mate@example.com"}, format="json").json()["url"]
    browser = Client()
    browser.post(url.removeprefix("http://testserver"))
    assert "mate@example.com" in browser.get("/portal/").content.decode()
    refused = client.post("/v1/portal/sessions", {"email": "other@example.com"}, format="json")
    assert refused.status_code == 400
    assert "not the owner or a teammate" in refused.json()["details"]["email"][0]
    assert PortalLink.objects.filter(user=other_account.user).count() == 0


def test_the_api_needs_a_key(api):
    assert api.post("/v1/portal/sessions").status_code == 401


def test_the_command_prints_a_link_for_a_teammate(account, capsys):
    teammate_create(account=account.profile, email="mate@example.com", role="member")
    call_command("portal_link", "mate@example.com", "--url", "http://testserver")
    url = capsys.readouterr().out.splitlines()[0]
    client = Client()
    assert client.post(url.removeprefix("http://testserver")).status_code == 302
    assert "mate@example.com" in client.get("/portal/").content.decode()


def test_password_sign_in(account):
    account.user.set_password(PASSWORD)
    account.user.save()
    client = Client()
    answer = client.post("/portal/sign-in", {"email": "customer@example.com", "password": PASSWORD})
    assert answer.status_code == 302
    assert client.get("/portal/").status_code == 200


def test_a_wrong_password_is_refused_with_a_clear_message(account):
    account.user.set_password(PASSWORD)
    account.user.save()
    answer = Client().post("/portal/sign-in", {"email": "customer@example.com", "password": "wrong"})
    assert answer.status_code == 401
    assert "Wrong email or password" in answer.content.decode()


def test_password_sign_in_is_locked_out_by_axes(account, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    account.user.set_password(PASSWORD)
    account.user.save()
    client = Client()
    for _ in range(3):
        client.post("/portal/sign-in", {"email": "customer@example.com", "password": "wrong"})
    locked = client.post("/portal/sign-in", {"email": "customer@example.com", "password": PASSWORD})
    assert locked.status_code in (403, 429)
    assert client.get("/portal/").status_code == 302  # not signed in


def test_a_portal_session_is_not_an_admin_session(portal):
    answer = portal.get("/admin/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/admin/login/")


def test_an_operator_stays_signed_in_to_the_admin_when_opening_a_customer_link(account, django_user_model):
    operator = django_user_model.objects.create_superuser("ops@example.com", "ops@example.com", PASSWORD)
    client = Client()
    client.force_login(operator)
    signed_in(client, user=account.user, account=account.profile, mode="test")
    assert client.get("/admin/").status_code == 200
    assert "customer@example.com" in client.get("/portal/").content.decode()
    # signing out of the portal leaves the admin alone too
    client.post("/portal/sign-out")
    assert client.get("/admin/").status_code == 200
    assert client.get("/portal/").status_code == 302


def test_a_teammate_who_came_by_link_sets_a_password_and_signs_in_with_it(account):
    mate = teammate_create(account=account.profile, email="mate@example.com", role="member")
    client = signed_in(Client(), user=mate, account=account.profile, mode="live")
    weak = client.post("/portal/settings/password", {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 400
    answer = client.post("/portal/settings/password", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert answer.status_code == 302
    fresh = Client()
    assert (
        fresh.post("/portal/sign-in", {"email": "mate@example.com", "password": PASSWORD}).status_code == 302
    )
    assert "teammate of customer@example.com" in fresh.get("/portal/").content.decode()


def test_an_operator_who_opens_a_customers_link_stays_signed_in_to_the_admin(operator_account, account):
    client = Client()
    client.force_login(operator_account.user)
    signed_in(client, user=account.user, account=account.profile, mode="live")
    assert client.get("/portal/settings").status_code == 200
    answer = client.post("/portal/settings/password", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert answer.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get("/portal/settings").status_code == 200


def test_a_password_change_ends_the_users_other_portal_sessions(account):
    other_browser = signed_in(Client(), user=account.user, account=account.profile, mode="test")
    this_browser = signed_in(Client(), user=account.user, account=account.profile, mode="live")
    this_browser.post("/portal/settings/password", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert this_browser.get("/portal/").status_code == 200
    assert other_browser.get("/portal/").status_code == 302
