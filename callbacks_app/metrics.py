"""Prometheus metrics of callback delivery, read from the ledger at scrape time.

Reading the database (not counters in memory) makes the figures right
whatever number of worker processes and machines deliver: every scrape sees
the whole system. Each metric is one aggregate query.
"""

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django_q.brokers import get_broker
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily

from callbacks_app import health_selectors, selectors
from callbacks_app.models import Delivery, DeliveryAttempt, TargetHealth

LATENCY_BUCKETS_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 15000)
LATENCY_WINDOW = timedelta(hours=1)


class DeliveryCollector:
    def collect(self):
        now = timezone.now()

        by_status = GaugeMetricFamily(
            "scalehooks_deliveries", "Deliveries in the ledger by status.", labels=["status"]
        )
        counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
        for status in Delivery.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

        yield GaugeMetricFamily(
            "scalehooks_deliveries_overdue",
            f"Pending deliveries due more than {int(selectors.OVERDUE_AFTER.total_seconds())} s ago and not being sent.",
            value=selectors.deliveries_overdue(now=now).count(),
        )

        recent = DeliveryAttempt.objects.filter(started_at__gte=now - LATENCY_WINDOW)
        aggregates = recent.aggregate(
            total=Count("id"),
            succeeded=Count("id", filter=Q(succeeded=True)),
            sum_ms=Sum("duration_ms"),
            **{f"le_{b}": Count("id", filter=Q(duration_ms__lte=b)) for b in LATENCY_BUCKETS_MS},
        )
        attempts = GaugeMetricFamily(
            "scalehooks_attempts_last_hour",
            "Delivery attempts in the last hour by outcome.",
            labels=["outcome"],
        )
        attempts.add_metric(["succeeded"], aggregates["succeeded"])
        attempts.add_metric(["failed"], aggregates["total"] - aggregates["succeeded"])
        yield attempts

        buckets = [(str(b / 1000), aggregates[f"le_{b}"]) for b in LATENCY_BUCKETS_MS]
        buckets.append(("+Inf", aggregates["total"]))
        yield GaugeHistogramMetricFamily(
            "scalehooks_attempt_duration_seconds",
            "Duration of the delivery attempts of the last hour.",
            buckets=buckets,
            gsum_value=(aggregates["sum_ms"] or 0) / 1000,
        )

        # Target health (SPEC §16): counts by mode and state only, never per account or
        # origin, so that the number of series stays fixed however many targets fail.
        unwell = GaugeMetricFamily(
            "scalehooks_callback_target_failing",
            "Callback targets (account, mode, origin) failing or paused, by mode and state.",
            labels=["mode", "state"],
        )
        counts = {(mode, state): n for mode, state, n in health_selectors.targets_unwell_by_mode()}
        for mode in ("live", "test"):
            for state in (TargetHealth.State.FAILING, TargetHealth.State.PAUSED):
                unwell.add_metric([mode, state], counts.get((mode, state), 0))
        yield unwell

        yield GaugeMetricFamily(
            "scalehooks_queue_size",
            "Jobs waiting in the django-q2 broker.",
            value=get_broker().queue_size() or 0,
        )
