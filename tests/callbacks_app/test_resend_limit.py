"""Resends are limited: ``CALLBACK_RESEND_LIMIT`` per task per hour (issue 16 point 6, SPEC §6.7).

Unlimited resends let one key send hundreds of emails with a body it wrote to
one address in seconds; beyond the limit a resend is a 429 in our error shape.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_completed_to_nowhere(account):
    task = TaskFactory(owner=account.user, callback_url="http://127.0.0.1:9/callback")
    task_complete(task_id=task.id, response={"category": "red"})
    return task


def test_40_resend_calls_queue_10_deliveries_and_the_rest_are_429(customer, task_completed_to_nowhere):
    answers = [customer.post(f"/v1/task/{task_completed_to_nowhere.id}/resend_callback") for _ in range(40)]

    assert [a.status_code for a in answers] == [200] * 10 + [429] * 30
    refused = answers[-1]
    assert set(refused.json()) == {"status_code", "error"}
    assert refused.json()["status_code"] == 429
    assert "10 resends per hour" in refused.json()["error"]
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert Delivery.objects.filter(task=task_completed_to_nowhere, event=Delivery.Event.RESENT).count() == 10


def test_resend_limit_is_a_setting(customer, task_completed_to_nowhere, settings):
    settings.CALLBACK_RESEND_LIMIT = 2

    codes = [
        customer.post(f"/v1/task/{task_completed_to_nowhere.id}/resend_callback").status_code
        for _ in range(3)
    ]

    assert codes == [200, 200, 429]


def test_resends_older_than_an_hour_do_not_count(customer, task_completed_to_nowhere, settings):
    settings.CALLBACK_RESEND_LIMIT = 2
    for _ in range(2):
        assert customer.post(f"/v1/task/{task_completed_to_nowhere.id}/resend_callback").status_code == 200
    Delivery.objects.filter(task=task_completed_to_nowhere).update(
        created_at=timezone.now() - timedelta(minutes=61)
    )

    assert customer.post(f"/v1/task/{task_completed_to_nowhere.id}/resend_callback").status_code == 200


def test_resend_limit_counts_per_task(customer, task_completed_to_nowhere, account, settings):
    settings.CALLBACK_RESEND_LIMIT = 1
    other = TaskFactory(owner=account.user, callback_url="http://127.0.0.1:9/callback")
    task_complete(task_id=other.id, response={"category": "red"})

    assert customer.post(f"/v1/task/{task_completed_to_nowhere.id}/resend_callback").status_code == 200
    assert customer.post(f"/v1/task/{other.id}/resend_callback").status_code == 200
    assert customer.post(f"/v1/task/{task_completed_to_nowhere.id}/resend_callback").status_code == 429
