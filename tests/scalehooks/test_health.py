"""``/healthz`` and ``/metrics`` (SPEC §10)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from callbacks_app.models import DeliveryAttempt
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db


def samples(client) -> dict:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.content.decode())
        for s in family.samples
    }


def test_healthz_is_ok_when_database_and_broker_answer(client):
    answer = client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_metrics_count_deliveries_by_status_and_overdue(client, account):
    task = TaskFactory(owner=account.user)
    now = timezone.now()
    for status, due in [
        ("succeeded", None),
        ("failed", None),
        ("pending", now + timedelta(minutes=5)),
        ("pending", now - timedelta(minutes=5)),
        ("pending", now - timedelta(minutes=5)),
    ]:
        DeliveryFactory(task=task, target="http://x.test/", payload="{}", status=status, next_attempt_at=due)

    values = samples(client)

    assert values[("scalehooks_deliveries", (("status", "succeeded"),))] == 1
    assert values[("scalehooks_deliveries", (("status", "failed"),))] == 1
    assert values[("scalehooks_deliveries", (("status", "pending"),))] == 3
    assert values[("scalehooks_deliveries", (("status", "superseded"),))] == 0
    assert values[("scalehooks_deliveries_overdue", ())] == 2


def test_metrics_histogram_of_recent_attempt_latency(client, account):
    task = TaskFactory(owner=account.user)
    delivery = DeliveryFactory(task=task, target="http://x.test/", payload="{}", pending=True)
    now = timezone.now()
    for number, (ms, ok, age) in enumerate(
        [(40, True, 1), (300, False, 1), (20_000, False, 1), (10, True, 120)], start=1
    ):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            duration_ms=ms,
            succeeded=ok,
            started_at=now - timedelta(minutes=age),
        )

    values = samples(client)

    assert values[("scalehooks_attempt_duration_seconds_bucket", (("le", "0.05"),))] == 1
    assert values[("scalehooks_attempt_duration_seconds_bucket", (("le", "0.5"),))] == 2
    assert values[("scalehooks_attempt_duration_seconds_bucket", (("le", "+Inf"),))] == 3
    assert values[("scalehooks_attempts_last_hour", (("outcome", "succeeded"),))] == 1
    assert values[("scalehooks_attempts_last_hour", (("outcome", "failed"),))] == 2
    assert ("scalehooks_queue_size", ()) in values
