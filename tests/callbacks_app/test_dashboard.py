"""The callback dashboard: its selectors (one aggregate query each) and the admin page."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from callbacks_app import durations, figures, selectors
from callbacks_app.models import Delivery, DeliveryAttempt
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def delivery(*, status, age=timedelta(minutes=5), finished_age=None, **fields):
    """A delivery created ``age`` ago (finished ``finished_age`` ago when it is finished)."""
    finished = status in Delivery.FINISHED
    return DeliveryFactory(
        status=status,
        created_at=NOW - age,
        finished_at=(NOW - (finished_age if finished_age is not None else age)) if finished else None,
        **fields,
    )


def attempts(durations, *, age=timedelta(minutes=5)):
    target = DeliveryFactory(status="pending", next_attempt_at=NOW + timedelta(minutes=1))
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery=target, number=i + 1, started_at=NOW - age, duration_ms=d)
        for i, d in enumerate(durations)
    )


# --- Selectors -------------------------------------------------------------------


def test_delivery_outcomes_counts_the_window_by_status():
    for status, n in (("succeeded", 3), ("failed", 1), ("pending", 2), ("superseded", 1)):
        for _ in range(n):
            delivery(status=status)
    delivery(status="failed", age=timedelta(hours=2))  # outside a 1 h window

    outcomes = selectors.delivery_outcomes(since=NOW - timedelta(hours=1))

    assert outcomes == {"pending": 2, "succeeded": 3, "failed": 1, "superseded": 1, "not_sent": 0}


def test_the_delivered_rate_counts_the_retrying_deliveries_against_it():
    counts = {"pending": 9, "succeeded": 3, "failed": 1, "superseded": 4}

    assert figures.DeliveryFigures(**counts, retrying=0).delivered_rate == 0.75
    assert figures.DeliveryFigures(**counts, retrying=4).delivered_rate == 3 / 8
    assert (
        figures.DeliveryFigures(pending=9, succeeded=0, failed=0, superseded=0, retrying=0).delivered_rate
        is None
    )


def test_a_rate_below_one_never_reads_100_percent():
    assert figures.percent_text(1999 / 2000) == "99.9 %"
    assert figures.percent_text(1.0) == "100.0 %"
    assert figures.percent_text(1 / 3000) == "0.1 %"
    assert figures.percent_text(0.0) == "0.0 %"


def test_attempt_latency_percentiles_are_nearest_rank_over_the_window():
    attempts(range(1, 101))  # 1 .. 100 ms, shuffled order does not matter
    attempts([10_000] * 50, age=timedelta(hours=3))  # outside the window

    latency = durations.attempt_latency(since=NOW - timedelta(hours=1))

    assert latency == durations.Latency(attempts=100, p50_ms=50, p95_ms=95)


def test_attempt_latency_with_repeated_durations():
    attempts([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 900])

    latency = durations.attempt_latency(since=NOW - timedelta(hours=1))

    assert (latency.p50_ms, latency.p95_ms) == (5, 5)


def test_attempt_latency_without_attempts_is_empty():
    assert durations.attempt_latency(since=NOW - timedelta(hours=1)) == durations.Latency(0, None, None)


def test_pending_retries_counts_overdue_and_finds_the_next_retry():
    soon, later = NOW + timedelta(seconds=30), NOW + timedelta(minutes=10)
    DeliveryFactory(status="pending", attempt_count=0, next_attempt_at=NOW)  # first attempt, due now
    DeliveryFactory(status="pending", attempt_count=2, next_attempt_at=later)
    DeliveryFactory(status="pending", attempt_count=1, next_attempt_at=soon)
    DeliveryFactory(status="pending", attempt_count=3, next_attempt_at=NOW - timedelta(minutes=1))  # overdue
    DeliveryFactory(status="failed", attempt_count=21, next_attempt_at=None)

    pending = selectors.pending_retries(now=NOW, since=NOW - timedelta(hours=1))

    assert pending == selectors.PendingRetries(
        pending=4, retrying=3, overdue=1, next_retry_at=soon, retrying_since=3
    )


def test_worst_targets_are_ordered_by_failure_rate():
    for status in ("failed", "failed", "succeeded"):
        delivery(status=status, target="http://half.example/")
    for status in ("failed",):
        delivery(status=status, target="http://dead.example/")
    for status in ("succeeded", "succeeded"):
        delivery(status=status, target="http://fine.example/")

    worst = selectors.worst_targets(since=NOW - timedelta(hours=1))

    assert [(w.target, w.failed, w.finished) for w in worst] == [
        ("http://dead.example/", 1, 1),
        ("http://half.example/", 2, 3),
    ]
    assert worst[1].failure_rate == pytest.approx(2 / 3)


def test_attempts_per_bucket_counts_succeeded_and_failed_attempts_per_hour_with_empty_hours():
    target = DeliveryFactory(status="pending", next_attempt_at=NOW + timedelta(minutes=1))
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery=target, number=n, started_at=NOW - age, succeeded=ok)
        for n, (age, ok) in enumerate(
            [(timedelta(minutes=10), True), (timedelta(minutes=10), False), (timedelta(hours=3), True)],
            start=1,
        )
    )

    buckets = selectors.attempts_per_bucket(since=NOW - timedelta(hours=24), until=NOW, seconds=3600)

    assert len(buckets) in (24, 25)  # the partial first and last hours
    assert sum(b.succeeded for b in buckets) == 2
    assert sum(b.failed for b in buckets) == 1
    by_start = {b.start: b for b in buckets}
    three_hours_ago = (NOW - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    assert by_start[three_hours_ago].succeeded == 1


# --- The page ------------------------------------------------------------------


def test_dashboard_is_linked_from_the_admin_index(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:dashboard") in html


def test_dashboard_shows_the_figures_of_the_window(admin_client):
    delivery(status="succeeded")
    delivery(status="succeeded")
    delivery(status="succeeded")
    delivery(status="failed", target="http://broken.example/hook")
    attempts([20, 40])

    response = admin_client.get(reverse("admin:dashboard"), {"window": "1h"})

    html = response.content.decode()
    assert response.context["window"].key == "1h"
    assert response.context["total"] == 5  # the four above and the attempts' pending delivery
    assert "75.0 %" in html  # 3 of the 4 finished ones succeeded
    assert "http://broken.example/hook" in html
    assert response.context["latency"] == durations.Latency(2, 20, 40)


def test_dashboard_window_excludes_older_deliveries(admin_client):
    delivery(status="failed", age=timedelta(hours=3))

    in_1h = admin_client.get(reverse("admin:dashboard"), {"window": "1h"}).context
    in_24h = admin_client.get(reverse("admin:dashboard"), {"window": "24h"}).context

    assert (in_1h["total"], in_24h["total"]) == (0, 1)


def test_dashboard_chart_is_inline_svg_with_one_bar_per_hour(admin_client):
    delivery(status="succeeded", finished_age=timedelta(minutes=1))

    response = admin_client.get(reverse("admin:dashboard"), {"window": "24h"})

    html = response.content.decode()
    assert '<svg class="sh-chart"' in html
    assert len(response.context["chart"]["bars"]) in (24, 25)
    assert "<script" not in html.split('id="content-main"')[1]
    assert "http://" not in html.split("<svg")[1].split("</svg>")[0].replace("http://www.w3.org/2000/svg", "")


def test_dashboard_makes_one_query_per_figure(admin_client, django_assert_max_num_queries):
    delivery(status="failed")
    attempts(range(50))

    # session + user, then: outcomes, attempts, the last error, latency, pending, worst targets,
    # chart, targets failing (the banner)
    with django_assert_max_num_queries(10):
        admin_client.get(reverse("admin:dashboard"), {"window": "7d"})


def test_dashboard_needs_the_delivery_view_permission(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("staff-without-perms", is_staff=True))

    assert client.get(reverse("admin:dashboard")).status_code == 403


def test_dashboard_outcome_links_open_the_filtered_deliveries(admin_client):
    failed = delivery(status="failed")
    delivery(status="succeeded")
    page = admin_client.get(reverse("admin:dashboard"), {"window": "24h"})
    link = re.search(r'href="([^"]*status__exact=failed[^"]*)"', page.content.decode()).group(1)

    response = admin_client.get(html.unescape(link))

    assert response.status_code == 200
    assert [d.id for d in response.context["cl"].result_list] == [failed.id]


# --- Failures beside every rate (issue 26 item 2) ------------------------------------


def retrying(*, target="http://down.example/hook", failed_attempts=3, error="HTTP 500"):
    """A delivery still pending after ``failed_attempts`` failed attempts: it awaits a retry."""
    found = delivery(
        status="pending",
        target=target,
        attempt_count=failed_attempts,
        next_attempt_at=NOW + timedelta(minutes=2),
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=found, number=n, started_at=NOW - timedelta(minutes=4 - n), status_code=500, error=error
        )
        for n in range(1, failed_attempts + 1)
    )
    return found


def succeeded_once():
    found = delivery(status="succeeded", attempt_count=1)
    DeliveryAttempt.objects.create(delivery=found, number=1, started_at=NOW, status_code=200, succeeded=True)
    return found


def test_the_headline_rates_say_what_they_count_beside_the_failures_they_leave_out(admin_client):
    for _ in range(3):
        succeeded_once()
    retrying(error="HTTP 500")
    retrying(error="HTTP 503", target="http://down.example/other")

    page = admin_client.get(reverse("admin:dashboard"), {"window": "1h"})

    html = " ".join(page.content.decode().split())
    figures = re.findall(r'<div class="sh-figure[^"]*">([^<]*)</div>', html)
    assert "100.0 %" not in figures, figures
    assert "60.0 %" in figures  # 3 delivered of the 5 that finished or are retrying
    assert "3 of 5 deliveries that finished or are retrying: 0 failed, 2 retrying" in html
    assert "33.3 %" in figures  # 3 of the 9 attempts succeeded
    assert "3 of 9 attempts: 6 failed" in html
    assert 'id="figure-last-error"' in html and "HTTP 503" in html.split('id="figure-last-error"')[1][:600]


def test_the_chart_shows_failed_attempts(admin_client):
    succeeded_once()
    retrying(failed_attempts=3)

    chart = admin_client.get(reverse("admin:dashboard"), {"window": "1h"}).context["chart"]

    assert (chart["succeeded"], chart["failed"]) == (1, 3)


def test_a_target_whose_deliveries_retry_is_among_the_worst_before_any_fails_for_good(admin_client):
    retrying(target="http://down.example/hook")
    succeeded_once()

    html = admin_client.get(reverse("admin:dashboard"), {"window": "1h"}).content.decode()

    assert "No failed deliveries" not in html
    rows = re.findall(
        r"<tr>\s*<td><a [^>]*>([^<]+)</a></td>(.*?)</tr>", html.split('id="worst-targets"')[1], re.S
    )
    assert [target for target, _ in rows] == ["http://down.example/hook"]
