"""What a customer may change on a task in any state: its ``unique_id``, metadata and tags.

None of these changes the task's status (``tasks_app.services`` owns that) or sends a callback.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tasks_app.errors import DuplicateUniqueId
from tasks_app.locks import task_locked
from tasks_app.models import MAX_TAGS, Task, TaskTag
from tasks_app.services import tags_distinct


def task_unique_id_set(*, task_id: str, unique_id: str) -> Task:
    """Give the task a ``unique_id``; ``DuplicateUniqueId`` when another task of the
    same account and mode has it."""
    try:
        with transaction.atomic():
            task = task_locked(task_id)
            task.unique_id = unique_id
            task.save(update_fields=["unique_id", "updated_at"])
            return task
    except IntegrityError:
        existing = (
            Task.objects.filter(owner_id=task.owner_id, is_test=task.is_test, unique_id=unique_id)
            .exclude(id=task_id)
            .first()
        )
        if existing is None:
            raise
        raise DuplicateUniqueId(unique_id=unique_id, existing_task_id=existing.id) from None


def task_unique_id_clear(*, task_id: str) -> Task:
    with transaction.atomic():
        task = task_locked(task_id)
        task.unique_id = None
        task.save(update_fields=["unique_id", "updated_at"])
    return task


def task_metadata_set(*, task_id: str, metadata: dict) -> Task:
    """Replace the task's metadata."""
    with transaction.atomic():
        task = task_locked(task_id)
        task.metadata = metadata
        task.save(update_fields=["metadata", "updated_at"])
    return task


def _tags_save(task: Task, tags: list[str]) -> None:
    task.tags = tags
    task.save(update_fields=["tags", "updated_at"])
    task.tag_rows.exclude(name__in=tags).delete()
    present = set(task.tag_rows.values_list("name", flat=True))
    TaskTag.objects.bulk_create(TaskTag(task=task, name=name) for name in tags if name not in present)


def task_tags_set(*, task_id: str, tags: list[str]) -> Task:
    """Replace the task's tags."""
    with transaction.atomic():
        task = task_locked(task_id)
        _tags_save(task, tags_distinct(tags))
    return task


def task_tags_add(*, task_id: str, tags: list[str]) -> Task:
    """Add tags the task does not have yet, keeping the order of the others."""
    with transaction.atomic():
        task = task_locked(task_id)
        combined = tags_distinct([*(task.tags or ()), *tags])
        if len(combined) > MAX_TAGS:
            raise ValidationError({"tags": [f"A task has at most {MAX_TAGS} tags."]})
        _tags_save(task, combined)
    return task


def task_tags_remove(*, task_id: str, tags: list[str]) -> Task:
    """Remove the given tags (those the task does not have are ignored)."""
    with transaction.atomic():
        task = task_locked(task_id)
        removed = set(tags)
        _tags_save(task, [name for name in task.tags or () if name not in removed])
    return task
