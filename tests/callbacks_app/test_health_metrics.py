"""The `scalehooks_callback_target_failing` gauge (SPEC §16), by mode and state, never per account; the slots' prune."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from callbacks_app.models import TargetHealth
from tasks_app.accounts import account_create

pytestmark = pytest.mark.django_db


def gauge(client) -> dict:
    answer = client.get("/metrics")
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.content.decode())
        for s in family.samples
        if s.name == "scalehooks_callback_target_failing"
    }


def test_the_gauge_counts_failing_and_paused_targets_by_mode_and_state(client):
    users = [account_create(email=f"user{i}@example.com").profile.user for i in range(3)]
    for user in users:
        TargetHealth.objects.create(owner=user, mode="live", origin="https://a.example:443", state="failing")
    TargetHealth.objects.create(owner=users[0], mode="test", origin="https://a.example:443", state="paused")
    TargetHealth.objects.create(owner=users[1], mode="live", origin="https://b.example:443")  # healthy

    assert gauge(client) == {
        (("mode", "live"), ("state", "failing")): 3,
        (("mode", "live"), ("state", "paused")): 0,
        (("mode", "test"), ("state", "failing")): 0,
        (("mode", "test"), ("state", "paused")): 1,
    }


def test_the_daily_prune_drops_slots_older_than_the_24_hour_figures(account):
    from datetime import timedelta

    from django.utils import timezone

    from callbacks_app.jobs import deliveries_prune
    from callbacks_app.models import TargetHealthSlot

    target = TargetHealth.objects.create(owner=account.user, mode="live", origin="https://a.example:443")
    now = timezone.now()
    old = TargetHealthSlot.objects.create(health=target, start=now - timedelta(hours=26))
    recent = TargetHealthSlot.objects.create(health=target, start=now - timedelta(hours=23))

    deliveries_prune()

    assert list(TargetHealthSlot.objects.values_list("id", flat=True)) == [recent.id]
    assert not TargetHealthSlot.objects.filter(id=old.id).exists()
