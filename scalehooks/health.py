"""Operational endpoints: ``/healthz`` and ``/metrics`` (SPEC §10)."""

import logging

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from callbacks_app.metrics import DeliveryCollector
from scalehooks import access

logger = logging.getLogger(__name__)


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker():
    if not get_broker().ping():
        raise ConnectionError("broker did not answer")


@access.route_policy(access.public("whether the database and the broker answer: no account's data"))
@require_GET
def healthz(request):
    """200 when the database and the broker answer, 503 naming what does not."""
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            logger.warning("Health check of the %s failed: %s", name, type(exc).__name__)
            checks[name] = f"unavailable ({type(exc).__name__})"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


@access.route_policy(
    access.public("counts across every account, no account's data (keep it behind the network)")
)
@require_GET
def metrics(request):
    registry = CollectorRegistry()
    registry.register(DeliveryCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
