"""``make run``'s demo account (``manage.py demo_account``) prints a one-time portal link and a
ready inbox, the test default callback URL, so that the README's curl lands there."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from inbox_app.models import Inbox
from tasks_app.models import Profile

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
