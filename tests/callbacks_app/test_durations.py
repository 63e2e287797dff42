"""Attempt durations (``callbacks_app.durations``): one computation of p50 and p95 from the
ledger, nearest rank, which the dashboard, the portal's targets page and
``GET /v1/callback_targets`` all show."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from callbacks_app import durations
from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import DeliveryFactory, TaskFactory
from tests.portal_app.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def twenty_attempts_of_1_to_20_ms(account, receiver):
    """Twenty callbacks of the account's live side, delivered to one receiver; their attempts
    then took 1, 2, ... 20 ms (the health slots counted them as they really went)."""
    for _ in range(20):
        task = TaskFactory(owner=account.user, callback_url=receiver.url)
        task_complete(task_id=task.id, response={"category": "red"})
        deliver_until_finished(Delivery.objects.get(task=task).id)
    for ms, attempt in enumerate(DeliveryAttempt.objects.order_by("id"), start=1):
        DeliveryAttempt.objects.filter(id=attempt.id).update(duration_ms=ms)


def test_the_dashboard_the_portal_and_the_api_show_the_same_real_percentiles(
    twenty_attempts_of_1_to_20_ms, customer, account, admin_client
):
    # Nearest rank over 1..20 ms: p50 is the 10th value, p95 the 19th.
    dashboard = admin_client.get(reverse("admin:dashboard"), {"window": "1h"})
    (target,) = customer.get("/v1/callback_targets").json()["targets"]
    portal = signed_in(Client(), user=account.user, account=account.profile, mode="live")
    targets_page = portal.get("/portal/targets").content.decode()

    assert dashboard.context["latency"] == durations.Latency(attempts=20, p50_ms=10, p95_ms=19)
    assert (target["last_1h"]["p50_ms"], target["last_1h"]["p95_ms"]) == (10, 19)
    assert (target["last_24h"]["p50_ms"], target["last_24h"]["p95_ms"]) == (10, 19)
    assert re.search(r"10 / 19 ms", targets_page), targets_page


def test_percentiles_by_origin_count_only_the_accounts_side(account, other_account):
    now = timezone.now()

    def attempts_of(owner, *, origin, is_test=False, ms, age=timedelta(minutes=5)):
        task = TaskFactory(owner=owner, is_test=is_test, status="completed")
        delivery = DeliveryFactory(task=task, target_origin=origin, status="succeeded", created_at=now - age)
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(delivery=delivery, number=i, started_at=now - age, duration_ms=d, succeeded=True)
            for i, d in enumerate(ms, start=1)
        )

    attempts_of(account.user, origin="https://a.example:443", ms=[5, 6, 7])
    attempts_of(account.user, origin="https://a.example:443", ms=[900], age=timedelta(hours=3))
    attempts_of(account.user, origin="https://b.example:443", ms=[100])
    attempts_of(account.user, origin="https://a.example:443", is_test=True, ms=[5000])  # the other side
    attempts_of(other_account.user, origin="https://a.example:443", ms=[7000])  # another account

    found = durations.latency_by_origin(
        owner_id=account.user.id,
        is_test=False,
        now=now,
        windows={"1h": timedelta(hours=1), "24h": timedelta(hours=24)},
    )

    assert found[("https://a.example:443", "1h")] == durations.Latency(3, 6, 7)
    assert found[("https://a.example:443", "24h")] == durations.Latency(4, 6, 900)
    assert found[("https://b.example:443", "1h")] == durations.Latency(1, 100, 100)
    assert ("https://b.example:443", "24h") in found
