"""How the admin shows a delivery's outcome in a list (the ledger's, a task's deliveries): its
status, and for one that failed or is retrying its failed attempts, last error and next attempt
(issue 26: a retrying delivery is marked in the lists, with its attempts and its last error)."""

from django.db.models import QuerySet
from django.template.defaultfilters import truncatechars
from django.utils import formats, timezone
from django.utils.html import format_html

from callbacks_app.models import Delivery
from callbacks_app.selectors import delivery_state, with_last_failure

ERROR_SHOWN = 100  # characters of the last error


def with_outcome(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """``deliveries`` with what ``delivery_outcome`` shows (their last failed attempt)."""
    return with_last_failure(deliveries)


def _time(value) -> str:
    return formats.localize(timezone.template_localtime(value)) if value else "—"


def _plural(count: int) -> str:
    return "s" if count != 1 else ""


def delivery_outcome(delivery: Delivery) -> str:
    """The outcome column of a list, for operators (every error shown)."""
    state = delivery_state(delivery, operator=True)
    if state.retrying:
        return format_html(
            '<span class="attempt-failed">↻ retrying after {} failed attempt{}</span><br>'
            "<small>last: {}</small><br><small>next: {}</small>",
            state.failed_attempts,
            _plural(state.failed_attempts),
            truncatechars(state.last_error, ERROR_SHOWN) or "—",
            _time(state.next_attempt_at),
        )
    count = delivery.attempt_count
    if delivery.status == Delivery.Status.FAILED:
        return format_html(
            '<span class="attempt-failed">✗ failed after {} attempt{}</span><br><small>last: {}</small>',
            count,
            _plural(count),
            truncatechars(state.last_error, ERROR_SHOWN) or "—",
        )
    if delivery.status == Delivery.Status.SUCCEEDED:
        return format_html(
            '<span class="attempt-ok">✓ succeeded</span>{}',
            f" after {count} attempts" if count > 1 else "",
        )
    if delivery.status == Delivery.Status.PENDING:
        if count:
            return format_html("pending: attempt {} under way", count)
        return format_html("pending: first attempt due {}", _time(delivery.next_attempt_at))
    return delivery.get_status_display()
