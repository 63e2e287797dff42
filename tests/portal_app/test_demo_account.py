"""``make run``'s demo account (``manage.py demo_account``) prints a one-time portal link and a
ready inbox, the test default callback URL, so that the README's curl lands there."""

import re

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from inbox_app.models import Inbox
from tasks_app.accounts import account_create
from tasks_app.models import Profile
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


def demo(capsys) -> str:
    call_command("demo_account", "--url", "http://testserver")
    return capsys.readouterr().out


def test_the_demo_prints_a_portal_link_that_signs_in(capsys):
    out = demo(capsys)
    path = re.search(r"Portal \(one-time link\):\s+http://testserver(\S+)", out).group(1)
    client = Client()
    assert client.post(path).status_code == 302
    assert "TEST side" in client.get("/portal/").content.decode()


def test_the_demo_inbox_is_the_test_default_callback_url_and_is_kept(capsys):
    out = demo(capsys)
    url = re.search(r"Inbox:\s+(\S+)", out).group(1)
    profile = Profile.objects.get(user__username="demo@scalehooks.local")
    assert profile.test_default_callback_url == url == Inbox.objects.get().url
    assert profile.live_default_callback_url == ""
    demo(capsys)
    assert Inbox.objects.count() == 1
    assert re.search(r"curl -u test_[0-9a-f]{32}: -X POST", out)


def test_the_demo_customer_is_no_operator_and_the_demo_operator_is(capsys):
    out = demo(capsys)
    customer = Profile.objects.get(user__username="demo@scalehooks.local").user
    operator = Profile.objects.get(user__username="operator@scalehooks.local").user
    assert not customer.is_staff and not customer.is_superuser
    assert operator.is_staff and operator.groups.filter(name="Operators").exists()
    live_key = re.search(r"Live API key:\s+(live_[0-9a-f]{32})", out).group(1)
    operator_key = re.search(r"Operator API key:\s+(live_[0-9a-f]{32})", out).group(1)
    created = APIClient().post(
        "/v1/task/categorization",
        {"attachment": "a", "categories": ["x", "y"]},
        format="json",
        HTTP_AUTHORIZATION=basic_auth(live_key),
    )
    completed = APIClient().post(
        f"/v1/ops/task/{created.json()['task_id']}/complete",
        {"response": {"category": "x"}},
        format="json",
        HTTP_AUTHORIZATION=basic_auth(operator_key),
    )
    assert completed.status_code == 200, completed.content


def test_an_older_staff_demo_account_becomes_a_plain_customer(capsys):
    account = account_create(email="demo@scalehooks.local", staff=True)
    demo(capsys)
    user = Profile.objects.get(pk=account.profile.pk).user
    assert not user.is_staff and not user.groups.exists()
