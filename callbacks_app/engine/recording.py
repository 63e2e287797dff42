"""Recording attempts: each attempt's row, and the outcome it gives its delivery.

``attempt_outcome`` decides a delivery's new state from one attempt's result
(a pure function); ``attempts_record`` writes a batch of finished attempts and
those outcomes in one transaction, a few statements per batch.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from callbacks_app import health, retry, transport
from callbacks_app.engine import pick_sql, record_sql
from callbacks_app.engine.attempt import SendResult
from callbacks_app.engine.leases import Claim, lease_end
from callbacks_app.holds import held_of_paused
from callbacks_app.masking import masked_headers, scrub, secret_values
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.resends import callback_resends_release
from scalehooks.db import arrays_of, update_each
from tasks_app.callback_outcomes import CallbackOutcome, tasks_callback_outcome_record
from tasks_app.locks import tasks_lock

logger = logging.getLogger(__name__)

GONE = 410  # the receiver asks us to stop
FALLBACK_RETRY = timedelta(minutes=1)  # due again after an attempt whose outcome could not be computed


@dataclass(frozen=True)
class Outcome:
    """A delivery's state after an attempt: finished (succeeded or failed), or due again."""

    status: str  # a Delivery.Status
    finished_at: datetime | None
    next_attempt_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED)


def attempt_outcome(
    *,
    attempt_number: int,
    first_attempt_at: datetime,
    result: transport.CallbackResult,
    now: datetime,
    schedule=None,
    rng=random,
) -> Outcome:
    """The delivery's new state after its attempt number ``attempt_number`` gave ``result`` at ``now``.

    A success finishes it; a failure makes it due again on the retry schedule
    (``callbacks_app.retry``, a ``Retry-After`` as the minimum delay), or
    finishes it as failed when it is out of retries or the receiver answered
    410 Gone. ``schedule`` and ``rng`` default to the setting and to ``random``.
    """
    if result.ok:
        return Outcome(status=Delivery.Status.SUCCEEDED, finished_at=now, next_attempt_at=None)
    due = None
    if result.status_code != GONE:
        due = retry.next_attempt_at(
            attempts_made=attempt_number,
            first_attempt_at=first_attempt_at,
            now=now,
            minimum_delay=result.retry_after,
            schedule=schedule,
            rng=rng,
        )
    if due is None:
        return Outcome(status=Delivery.Status.FAILED, finished_at=now, next_attempt_at=None)
    return Outcome(status=Delivery.Status.PENDING, finished_at=None, next_attempt_at=due)


def attempts_record(*, results: list[tuple[Claim, SendResult]]) -> datetime | None:
    """Write the attempts and the deliveries' new states, a few statements per batch; the
    earliest time one of them is due again (None: none is, or the batch failed).

    This is the hot path of delivery: the ORM's per-row ``update()`` and
    ``bulk_update()`` cost milliseconds a row in expression building, so the
    batch is written with plain parametrised UPDATEs (``scalehooks.db.update_each``),
    values adapted by the backend's own ``connection.ops``.

    An attempt is always recorded; its outcome only while the claim still holds
    the delivery's lease and the delivery is pending. A delivery that a resend
    superseded meanwhile has its lease ended and the resend released; one whose
    lease another worker took over is left to that worker.

    One bad row never costs the others their record: a row whose outcome cannot
    be computed gets a fallback outcome (due again, ``FALLBACK_RETRY``), and a
    batch whose transaction fails is recorded again row by row, each in its own
    transaction; first, if it failed on its database connection (cut by a restart, a
    failover, a terminated backend), once more whole on a new connection: a 2xx received
    is recorded whenever the process lives on. Never raises: a row that fails even alone
    is logged and stays "did not finish" until its lease runs out, as for a killed worker.
    """
    try:
        return _batch_record(results=results)
    except Exception as exc:
        if _connection_lost(exc):
            # The answers were received: recorded on a new connection rather than sent again.
            logger.warning(
                "Recording %s attempts failed on its database connection: again on a new one", len(results)
            )
            connection.close()
            try:
                return _batch_record(results=results)
            except Exception:
                pass  # then row by row, as any failed batch
        if len(results) == 1:
            _log_unrecorded(results[0])
            return None
        logger.exception("Recording a batch of %s attempts failed: recording them one by one", len(results))
        for one in results:
            try:
                _batch_record(results=[one])
            except Exception:
                _log_unrecorded(one)


def _connection_lost(exc: Exception) -> bool:
    """Whether the batch may have failed for its database connection (cut, or a transient
    operational error such as a deadlock's abort) rather than for one of its rows: worth one
    more try on a new connection. Not inside a caller's transaction (a test's, a foreground
    send's), which a new connection would leave."""
    return isinstance(exc, OperationalError | InterfaceError) and not connection.in_atomic_block


def _log_unrecorded(one: tuple[Claim, SendResult]) -> None:
    claim, _ = one
    logger.exception(
        "Recording attempt %s of delivery %s failed",
        claim.attempt.number,
        claim.delivery.id,
        extra={"delivery_id": claim.delivery.id},
    )


def _outcome_or_fallback(*, claim: Claim, result: transport.CallbackResult, now: datetime) -> Outcome:
    """``attempt_outcome``, or, should it raise, due again after ``FALLBACK_RETRY`` (logged).

    The claim still finishes the delivery as failed once it is out of attempts or of its window.
    """
    try:
        return attempt_outcome(
            attempt_number=claim.attempt.number,
            first_attempt_at=claim.delivery.first_attempt_at,
            result=result,
            now=now,
        )
    except Exception:
        logger.exception(
            "The outcome of attempt %s of delivery %s could not be computed: due again in %s",
            claim.attempt.number,
            claim.delivery.id,
            FALLBACK_RETRY,
            extra={"delivery_id": claim.delivery.id},
        )
        return Outcome(status=Delivery.Status.PENDING, finished_at=None, next_attempt_at=now + FALLBACK_RETRY)


def _held_to_lock(results: list[tuple[Claim, SendResult]]) -> list[str]:
    """The held deliveries of the batch's paused targets, which a probe's success resumes: locked
    with the batch's, in id order, before the targets' rows (``holds.held_of_paused``)."""
    if not connection.features.has_select_for_update or not pick_sql.any_target_paused():
        return []  # SQLite locks no rows; no target paused (the usual case: one indexed probe)
    batch = {claim.delivery.id for claim, _ in results}
    held = held_of_paused(deliveries=[claim.delivery for claim, _ in results])
    return [delivery_id for delivery_id in held if delivery_id not in batch]


def _batch_record(*, results: list[tuple[Claim, SendResult]]) -> datetime | None:
    """``attempts_record`` of one batch, in one transaction (raises if any statement fails)."""
    ops = connection.ops
    now = timezone.now()
    at = ops.adapt_datetimefield_value
    ids = [claim.delivery.id for claim, _ in results]
    errors = {}
    with transaction.atomic():
        # A task before its deliveries (docs/architecture.md, "Leases instead of locks").
        tasks_lock(task_ids={claim.delivery.task_id for claim, _ in results} - {None})
        holders = record_sql.lease_holders(ids=ids + _held_to_lock(results))
        delivery_rows, outcomes, attempt_rows, superseded, lost, due_again = [], [], [], [], [], []
        for claim, sent in results:
            result = sent.result
            secrets = secret_values(profile=claim.profile, headers=claim.headers)
            errors[claim.delivery.id] = error = scrub(result.error, secrets)
            attempt_rows.append(
                (
                    result.duration_ms,
                    result.status_code,
                    error,
                    scrub(result.body_excerpt, secrets),
                    ops.adapt_json_value(masked_headers(sent.headers), None),
                    result.ok,
                    claim.attempt.id,
                )
            )
            holder = holders.get(claim.delivery.id)
            if holder == (claim.token, Delivery.Status.SUPERSEDED):
                superseded.append(claim)  # a resend superseded it during this attempt
                continue
            if holder != (claim.token, Delivery.Status.PENDING):
                lost.append(claim)  # the attempt outlived its lease: another worker took over
                continue
            outcome = _outcome_or_fallback(claim=claim, result=result, now=now)
            if outcome.next_attempt_at is not None:
                due_again.append(outcome.next_attempt_at)
            delivery_rows.append(
                (outcome.status, at(outcome.finished_at), at(outcome.next_attempt_at), claim.delivery.id)
            )
            if outcome.finished and claim.delivery.task_id is not None:  # not a batch's callback
                outcomes.append(
                    CallbackOutcome(
                        task_id=claim.delivery.task_id,
                        delivery_created_at=claim.delivery.created_at,
                        succeeded=outcome.status == Delivery.Status.SUCCEEDED,
                        at=now,
                    )
                )
        delivery_table = Delivery._meta.db_table
        update_each(
            per_row=(
                f"UPDATE {delivery_table} SET status = %s, finished_at = %s, next_attempt_at = %s, "
                "lease_token = NULL, leased_until = NULL WHERE id = %s"
            ),
            per_batch=(
                f"UPDATE {delivery_table} AS d SET status = v.status, finished_at = v.finished_at, "
                "next_attempt_at = v.next_attempt_at, lease_token = NULL, leased_until = NULL "
                f"FROM unnest({arrays_of('varchar', 'timestamptz', 'timestamptz', 'varchar')}) "
                "AS v(status, finished_at, next_attempt_at, id) WHERE d.id = v.id"
            ),
            rows=delivery_rows,
        )
        # callback_succeeded follows the most recent finished delivery of the task
        # (the deliveries' new states written above count).
        tasks_callback_outcome_record(outcomes=outcomes)
        # Target health (SPEC §16): one row per origin of the batch, its alerts fanned out after the commit.
        failed_ids = {row[3] for row in delivery_rows if row[0] == Delivery.Status.FAILED}
        health.batch_health_record(results=results, failed_ids=failed_ids, now=now)
        attempt_table = DeliveryAttempt._meta.db_table
        update_each(
            per_row=(
                f"UPDATE {attempt_table} SET duration_ms = %s, status_code = %s, error = %s, "
                "response_excerpt = %s, request_headers = %s, succeeded = %s WHERE id = %s"
            ),
            per_batch=(
                f"UPDATE {attempt_table} AS a SET duration_ms = v.duration_ms, status_code = v.status_code, "
                "error = v.error, response_excerpt = v.response_excerpt, "
                "request_headers = v.request_headers, succeeded = v.succeeded "
                f"FROM unnest({arrays_of('integer', 'smallint', 'text', 'text', 'jsonb', 'boolean', 'bigint')}) "
                "AS v(duration_ms, status_code, error, response_excerpt, request_headers, succeeded, id) "
                "WHERE a.id = v.id"
            ),
            rows=attempt_rows,
        )
        private = [claim.attempt.id for claim, sent in results if sent.result.private_target]
        if private:  # rare: only accounts an operator opened private networks to
            DeliveryAttempt.objects.filter(id__in=private).update(private_target=True)
        for claim in superseded:
            lease_end(claim=claim)
            callback_resends_release(delivery=claim.delivery, now=now)

    for claim in lost:
        logger.warning(
            "Lost the lease of delivery %s during attempt %s",
            claim.delivery.id,
            claim.attempt.number,
            extra={"delivery_id": claim.delivery.id},
        )
    for claim, sent in results:
        log = logger.info if sent.result.ok else logger.warning
        log(
            "Callback %s attempt %s to %s: %s",
            claim.delivery.id,
            claim.attempt.number,
            claim.delivery.target_kind,
            "delivered"
            if sent.result.ok
            else (errors[claim.delivery.id] or f"HTTP {sent.result.status_code}"),
            extra={
                "delivery_id": claim.delivery.id,
                "task_id": claim.delivery.task_id,
                "attempt": claim.attempt.number,
            },
        )
    return min(due_again, default=None)
