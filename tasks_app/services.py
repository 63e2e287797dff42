"""The task lifecycle (SPEC §5): the one place that changes a task's state.

API views, admin actions and management commands call these services. Each
state change and the callback delivery it triggers commit in one transaction;
an illegal change raises ``TaskStateConflict`` and changes nothing.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers

from callbacks_app.models import Delivery
from callbacks_app.services import callback_delivery_create
from tasks_app.errors import DuplicateUniqueId, TaskStateConflict
from tasks_app.keys import Mode
from tasks_app.models import Task
from tasks_app.serializers import TaskCreateInput
from tasks_app.task_types import get_task_type

COMMON_FIELDS = set(TaskCreateInput().fields)


def task_create(*, owner, mode: str, task_type: str, data: dict) -> Task:
    """Validate a create body (params flat or under ``params``) and store a pending task."""
    kind = get_task_type(task_type)
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    params_fields = kind.params_fields()
    unknown = set(data) - COMMON_FIELDS - params_fields
    if unknown:
        raise serializers.ValidationError({field: ["Unknown field."] for field in sorted(unknown)})

    common = TaskCreateInput(data={k: v for k, v in data.items() if k in COMMON_FIELDS})
    common.is_valid(raise_exception=True)
    fields = dict(common.validated_data)
    params = {**fields.pop("params", {}), **{k: v for k, v in data.items() if k in params_fields}}
    params = kind.validate_params(params)

    try:
        with transaction.atomic():
            return Task.objects.create(
                owner=owner,
                is_test=(mode == Mode.TEST),
                type=kind.name,
                params=params,
                **fields,
            )
    except IntegrityError:
        existing = Task.objects.filter(
            owner=owner, is_test=(mode == Mode.TEST), unique_id=fields.get("unique_id")
        ).first()
        if existing is None:
            raise
        raise DuplicateUniqueId(unique_id=existing.unique_id, existing_task_id=existing.id) from None


def _locked(task_id: str) -> Task:
    """The task, locked for update until the surrounding transaction ends."""
    return Task.objects.select_for_update().get(id=task_id)


def _require_status(task: Task, *allowed: str, action: str) -> None:
    if task.status not in allowed:
        raise TaskStateConflict(
            f"Cannot {action} task {task.id}: it is {task.status} "
            f"(allowed only when {' or '.join(allowed)})."
        )


def task_complete(*, task_id: str, response) -> Task:
    """``pending`` → ``completed`` with a response valid for the task's type; completion callback."""
    with transaction.atomic():
        task = _locked(task_id)
        _require_status(task, Task.Status.PENDING, action="complete")
        task.response = get_task_type(task.type).validate_response(
            params=task.params, response=response
        )
        task.status = Task.Status.COMPLETED
        task.completed_at = timezone.now()
        task.save()
        callback_delivery_create(task=task, event=Delivery.Event.COMPLETED)
    return task
