"""Reading deliveries. Callers scope the task first (``tasks_app.selectors.task_get``)."""

from django.db.models import Prefetch, QuerySet

from callbacks_app.models import Delivery, DeliveryAttempt


def deliveries_of_task(*, task) -> QuerySet[Delivery]:
    """The task's deliveries, newest first, each with its attempts in order (payload deferred)."""
    return (
        Delivery.objects.filter(task=task)
        .defer("payload")
        .order_by("-created_at", "-id")
        .prefetch_related(
            Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("number"))
        )
    )
