"""Recover a window: nothing is resent without a count the member saw."""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.models import Recovery
from tests.portal_app.conftest import delivery_of

pytestmark = pytest.mark.django_db(transaction=True)


def window() -> dict:
    now = timezone.now()
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "since": (now - timedelta(hours=1)).strftime(fmt),
        "until": (now + timedelta(minutes=2)).strftime(fmt),
    }


def test_the_count_comes_first_then_the_start(portal, account):
    delivery_of(account.user, is_test=True, status="failed")
    counted = portal.post("/portal/recover", {**window(), "step": "count"})
    assert "<strong>1</strong> callback to resend" in counted.content.decode()
    assert not Recovery.objects.exists()
    started = portal.post("/portal/recover", {**window(), "step": "start", "counted": "1"})
    recovery = Recovery.objects.get()
    assert started["Location"] == f"/portal/recover/{recovery.id}"
    assert (recovery.total, recovery.is_test) == (1, True)


def test_a_start_with_another_count_than_the_one_seen_counts_again(portal, account):
    delivery_of(account.user, is_test=True, status="failed")
    answer = portal.post("/portal/recover", {**window(), "step": "start", "counted": "0"})
    assert answer.status_code == 200
    assert "The count changed since you saw it" in answer.content.decode()
    assert not Recovery.objects.exists()


def test_a_window_that_ends_before_it_starts_is_refused(portal):
    fields = window()
    answer = portal.post(
        "/portal/recover", {"since": fields["until"], "until": fields["since"], "step": "count"}
    )
    assert answer.status_code == 400
    assert "start must be before its end" in answer.content.decode()


def test_the_live_side_recovers_live_deliveries_only(portal_live, account):
    delivery_of(account.user, is_test=True, status="failed")
    counted = portal_live.post("/portal/recover", {**window(), "step": "count"})
    assert "Nothing to recover in this window" in counted.content.decode()
