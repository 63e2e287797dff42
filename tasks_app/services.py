"""The task lifecycle (SPEC §5): the one place that changes a task's state.

API views, admin actions and management commands call these services. Each
state change and the callback delivery it triggers commit in one transaction;
an illegal change raises ``TaskStateConflict`` and changes nothing.

Allowed changes::

    create                 → pending     (a test task of an account with test_tasks_autocomplete:
                                          completed at once, synthetic response, task.completed)
    pending   --complete-->  completed   (task.completed)
    pending   --error----->  error       (task.error)
    pending   --cancel---->  canceled    (no callback)
    completed --audit----->  completed   (task.audited: accepted / rejected by the customer)
    completed --fix------->  completed   (task.audited: fixed by an operator, old response kept)
    completed --recall---->  pending     (task.recalled)

A task of a batch may complete its batch (or, recalled, reopen it): every
change of a task's status calls ``batches.batch_progress`` in its transaction.
"""

import hashlib
import json
import logging
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from callbacks_app.services import CallbackEvent, callback_delivery_create
from scalehooks.audit import audit_record
from scalehooks.timestamps import format_timestamp
from tasks_app import completion_sql
from tasks_app.attachments import attachment_fetch
from tasks_app.batches import batch_progress, batch_task_join, task_batch_is_staging
from tasks_app.errors import DuplicateUniqueId, IdempotencyKeyReused, TaskStateConflict
from tasks_app.keys import Mode
from tasks_app.locks import task_locked
from tasks_app.models import IdempotencyKey, Profile, Task, TaskTag
from tasks_app.task_types import get_task_type

logger = logging.getLogger(__name__)

ATTACHMENT_ERROR = "One or more attachments could not be downloaded."

# --- create ---------------------------------------------------------------------


def task_create_request_hash(*, task_type: str, data) -> str:
    """What identifies a create request under an ``Idempotency-Key``: its type and raw body."""
    canonical = json.dumps([task_type, data], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def task_create_replay(*, owner, mode: str, idempotency_key: str, request_hash: str) -> Task | None:
    """The task a create with this ``Idempotency-Key`` (same account and mode) made, or None;
    ``IdempotencyKeyReused`` when the key was used for a different request."""
    return _idempotent_replay(
        owner=owner, is_test=mode == Mode.TEST, key=idempotency_key, request_hash=request_hash
    )


def _idempotent_replay(*, owner, is_test: bool, key: str, request_hash: str) -> Task | None:
    record = (
        IdempotencyKey.objects.select_related("task").filter(owner=owner, is_test=is_test, key=key).first()
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(key=key, existing_task_id=record.task_id)
    return record.task


def enqueue_attachment_check(task_id: str) -> None:
    """Queue the attachment download of a new task (called on commit of its creation)."""
    try:
        async_task("tasks_app.jobs.task_attachments_check", task_id, task_name=f"attachments {task_id}")
    except Exception:
        logger.exception(
            "Could not enqueue the attachment download of task %s", task_id, extra={"task_id": task_id}
        )


def task_create(
    *,
    owner,
    mode: str,
    task_type: str,
    fields: dict,
    params: dict,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> Task:
    """Store a pending task of ``task_type`` with validated common ``fields`` and ``params``
    (the API parses a create body with ``serializers.task_create_body``). A test task of an
    account with ``test_tasks_autocomplete`` completes in the same transaction (SPEC §13).

    With an ``idempotency_key`` (and the ``task_create_request_hash`` of the
    request), the key is recorded with the task; a concurrent create with the
    same key returns the task it created instead of a new one. The caller asks
    ``task_create_replay`` first.
    """
    is_test = mode == Mode.TEST
    kind = get_task_type(task_type)
    if fields.get("tags") is not None:
        fields = {**fields, "tags": tags_distinct(fields["tags"])}
    autocomplete = is_test and Profile.objects.filter(user=owner, test_tasks_autocomplete=True).exists()

    try:
        with transaction.atomic():
            fields["project"] = batch_task_join(
                owner=owner, is_test=is_test, project=fields.get("project", ""), batch=fields.get("batch", "")
            )
            task = Task.objects.create(owner=owner, is_test=is_test, type=kind.name, params=params, **fields)
            TaskTag.objects.bulk_create(TaskTag(task=task, name=name) for name in task.tags or ())
            if idempotency_key:
                IdempotencyKey.objects.create(
                    owner=owner,
                    is_test=is_test,
                    key=idempotency_key,
                    request_hash=request_hash,
                    task=task,
                )
            if autocomplete and not task_batch_is_staging(task):
                # completed at once, attachments not downloaded (SPEC §13)
                _complete(task, response=kind.synthetic_response(params=params))
            elif kind.attachment_urls(params):
                transaction.on_commit(partial(enqueue_attachment_check, task.id))
            return task
    except IntegrityError:
        # A concurrent create with the same Idempotency-Key won the race, or
        # the unique_id is taken: answer as the winner's retry would be. Any
        # other constraint is raised as the database reported it (a task
        # without unique_id cannot conflict with one: NULLs are distinct).
        if idempotency_key:
            replay = _idempotent_replay(
                owner=owner, is_test=is_test, key=idempotency_key, request_hash=request_hash
            )
            if replay is not None:
                return replay
        unique_id = fields.get("unique_id")
        existing = None
        if unique_id is not None:
            existing = Task.objects.filter(owner=owner, is_test=is_test, unique_id=unique_id).first()
        if existing is None:
            raise
        raise DuplicateUniqueId(unique_id=unique_id, existing_task_id=existing.id) from None


def tags_distinct(names: list[str]) -> list[str]:
    """``names`` without repeats, in their first order."""
    return list(dict.fromkeys(names))


# --- state changes --------------------------------------------------------------


def _require_status(task: Task, *allowed: str, action: str) -> None:
    if task.status not in allowed:
        raise TaskStateConflict(
            f"Cannot {action} task {task.id}: it is {task.status} (allowed only when {' or '.join(allowed)})."
        )


def task_complete(*, task_id: str, response) -> Task:
    """``pending`` → ``completed`` with a response valid for the task's type; completion callback.

    The response is validated before anything is written; the change itself is
    one conditional statement (``completion_sql``), which a concurrent change
    that got there first makes a ``TaskStateConflict``.
    """
    checked = _checked(task_id, action="complete")
    task = checked[0]
    if task_batch_is_staging(task):
        raise TaskStateConflict(
            f"Cannot complete task {task.id}: its batch {task.batch!r} is staging (finalize it first)."
        )
    response = get_task_type(task.type).validate_response(params=task.params, response=response)
    return _leave_pending(
        checked, status=Task.Status.COMPLETED, response=response, action="complete", completed=True
    )


def _checked(task_id: str, *, action: str) -> tuple[Task, str | None]:
    """The task as read before a change from ``pending`` (``completion_sql.task_to_check``),
    ``TaskStateConflict`` when it is not pending."""
    checked = completion_sql.task_to_check(task_id)
    if checked is None:
        raise Task.DoesNotExist(f"Task {task_id} does not exist.")
    _require_status(checked[0], Task.Status.PENDING, action=action)
    return checked


def _leave_pending(
    checked: tuple[Task, str | None], *, status: str, response, action: str, completed: bool
) -> Task:
    """The task moved from ``pending`` to ``status`` with its callback and its batch's progress,
    in one statement (``completion_sql.task_leave_pending_at_once``: two round trips for a
    completion, the check and this, where the transaction takes five) or in one transaction;
    ``TaskStateConflict`` (or ``Task.DoesNotExist``) when it was not pending."""
    event = CallbackEvent.COMPLETED if completed else CallbackEvent.ERROR
    now = timezone.now()
    if not checked[0].batch:  # a batch's progress is counted in the change's transaction
        moved = completion_sql.task_leave_pending_at_once(
            checked, status=status, response=response, now=now, completed=completed, event=event
        )
        if moved is not None:
            return moved
    task_id = checked[0].id
    with transaction.atomic():
        task = completion_sql.task_leave_pending(
            task_id=task_id, status=status, response=response, now=now, completed=completed
        )
        if task is None:
            _require_status(
                Task.objects.only("id", "status").get(id=task_id), Task.Status.PENDING, action=action
            )
        callback_delivery_create(task=task, event=event)
        batch_progress(task=task)
    return task


def _complete(task: Task, *, response) -> None:
    """``task`` (new, in the caller's transaction: a test task completing itself) completed with ``response``."""
    task.response = get_task_type(task.type).validate_response(params=task.params, response=response)
    task.status = Task.Status.COMPLETED
    task.completed_at = timezone.now()
    task.save(update_fields=["response", "status", "completed_at", "updated_at"])
    callback_delivery_create(task=task, event=CallbackEvent.COMPLETED)
    batch_progress(task=task)


def _fail(task_id: str, *, response: dict, action: str) -> Task:
    return _leave_pending(
        _checked(task_id, action=action),
        status=Task.Status.ERROR,
        response=response,
        action=action,
        completed=False,
    )


def task_error(*, task_id: str, error: str) -> Task:
    """``pending`` → ``error`` with ``response = {"error": error}``; error callback."""
    error = (error or "").strip()
    if not error:
        raise ValidationError({"error": ["An error message is required."]})
    return _fail(task_id, response={"error": error}, action="error")


def task_attachments_failed(*, task_id: str, attachments: list[dict]) -> Task:
    """``pending`` → ``error`` because attachments could not be downloaded ("Error on Task
    Creation"); ``attachments`` is ``[{"statusCode": N, "url": ...}]``. Error callback."""
    return _fail(
        task_id,
        response={"error": ATTACHMENT_ERROR, "attachments": attachments},
        action="fail the attachment download of",
    )


def task_attachments_check(*, task_id: str) -> Task | None:
    """Download the attachments of a new task; if any cannot be downloaded, the task
    becomes ``error`` with the documented response and an error callback.

    The downloads run outside any transaction. A task that left ``pending`` in
    the meantime (canceled, completed by an operator) is left alone. Returns the
    task when it was failed, else None.
    """
    task = Task.objects.filter(id=task_id).first()
    if task is None or task.status != Task.Status.PENDING:
        return None
    results = [attachment_fetch(url) for url in get_task_type(task.type).attachment_urls(task.params)]
    failures = [result for result in results if not result.ok]
    if not failures:
        return None
    for failure in failures:
        logger.info(
            "Attachment of task %s could not be downloaded: %s",
            task_id,
            failure.error,
            extra={"task_id": task_id},
        )
    try:
        return task_attachments_failed(
            task_id=task_id,
            attachments=[{"statusCode": f.status_code, "url": f.url} for f in failures],
        )
    except TaskStateConflict:
        return None  # it left pending while we were downloading


def task_cancel(*, task_id: str, clear_unique_id: bool = False) -> Task:
    """``pending`` → ``canceled`` (by the customer). No callback."""
    with transaction.atomic():
        task = task_locked(task_id)
        _require_status(task, Task.Status.PENDING, action="cancel")
        task.status = Task.Status.CANCELED
        if clear_unique_id:
            task.unique_id = None
        task.save()
        batch_progress(task=task)
    return task


def _audit_entry(*, result: str, source: str, audited_by: str, comments: str) -> dict:
    return {
        "audited_by": audited_by,
        "audited_at": format_timestamp(timezone.now()),
        "audit_result": result,
        "audit_source": source,
        "comments": comments,
    }


def task_audit(*, task_id: str, accepted: bool, comments: str = "", audited_by: str = "customer") -> Task:
    """A customer's review of a ``completed`` task (accepted or rejected); audit callback.

    The task stays completed; every audit is recorded and sends its own callback.
    """
    comments = comments or ""
    with transaction.atomic():
        task = task_locked(task_id)
        _require_status(task, Task.Status.COMPLETED, action="audit")
        result = Task.AuditResult.ACCEPTED if accepted else Task.AuditResult.REJECTED
        task.audits = [
            *task.audits,
            _audit_entry(result=result, source="customer", audited_by=audited_by, comments=comments),
        ]
        task.customer_review_status = result
        if comments:
            task.customer_review_comments = [*task.customer_review_comments, comments]
        task.save()
        callback_delivery_create(task=task, event=CallbackEvent.AUDITED)
    return task


def task_fix(*, task_id: str, response) -> Task:
    """An operator replaces the response of a ``completed`` task; the old one goes to
    ``prior_responses``, the fix is recorded as a ``fixed`` audit; audit callback."""
    with transaction.atomic():
        task = task_locked(task_id)
        _require_status(task, Task.Status.COMPLETED, action="fix")
        new_response = get_task_type(task.type).validate_response(params=task.params, response=response)
        task.prior_responses = [*task.prior_responses, task.response]
        task.response = new_response
        task.audits = [
            *task.audits,
            _audit_entry(result=Task.AuditResult.FIXED, source="scale", audited_by="scale", comments=""),
        ]
        task.customer_review_status = Task.AuditResult.FIXED
        task.save()
        callback_delivery_create(task=task, event=CallbackEvent.AUDITED)
    return task


def task_recall(*, task_id: str) -> Task:
    """An operator takes a ``completed`` task back to ``pending``; recall callback.

    The recalled response moves to ``prior_responses`` (the callback shows it
    there), ``response`` and ``completed_at`` are cleared, and the review status
    is reset since the next response has not been reviewed. Audits are kept.
    """
    with transaction.atomic():
        task = task_locked(task_id)
        _require_status(task, Task.Status.COMPLETED, action="recall")
        task.prior_responses = [*task.prior_responses, task.response]
        task.response = None
        task.status = Task.Status.PENDING
        task.completed_at = None
        task.customer_review_status = ""
        task.save()
        callback_delivery_create(task=task, event=CallbackEvent.RECALLED)
        batch_progress(task=task)
    return task


def task_operator_action_record(*, task: Task, action: str) -> None:
    """Record an operator's change of ``task`` (complete, error, fix, recall; from the admin or
    ``/v1/ops``) in the audit trail, once it committed: the change stays one statement."""
    audit_record(
        action=f"task.{action}", target=task, account_id=task.owner_id, mode=task.mode, status=task.status
    )
