"""Fixtures of the portal tests: signed-in clients, another account's objects."""

import pytest
from django.test import Client

from portal_app.links import portal_link_create
from tasks_app.models import Task
from tests.factories import DeliveryFactory, TaskFactory


def signed_in(client: Client, *, user, account, mode: str = "test") -> Client:
    """``client`` signed in to the portal through a one-time link, as a browser does: a test
    side's link reaches the test side only, a live side's link both sides."""
    link = portal_link_create(user=user, account=account, mode=mode)
    answer = client.post(link.path)
    assert answer.status_code == 302, answer.content
    return client


def signed_in_both(client: Client, *, user, account, mode: str = "test") -> Client:
    """``client`` signed in with a reach of both sides (as a password or a live link signs in),
    on ``mode``'s side."""
    signed_in(client, user=user, account=account, mode="live")
    if mode != "live":
        assert client.post("/portal/mode", {"mode": mode}).status_code == 302
    return client


@pytest.fixture
def portal(account):
    """The customer's owner, signed in to the test side."""
    return signed_in(Client(), user=account.user, account=account.profile, mode="test")


@pytest.fixture
def portal_both(account):
    """The customer's owner, signed in to both sides, on the test side."""
    return signed_in_both(Client(), user=account.user, account=account.profile, mode="test")


@pytest.fixture
def portal_live(account):
    return signed_in(Client(), user=account.user, account=account.profile, mode="live")


def delivery_of(user, *, is_test: bool, **fields):
    task = TaskFactory(owner=user, is_test=is_test, status=Task.Status.COMPLETED)
    return DeliveryFactory(task=task, owner=user, **fields)


@pytest.fixture
def others_delivery(other_account):
    return delivery_of(other_account.user, is_test=True, status="failed")
