"""Reading tasks, always scoped to the caller (SPEC §3, §8)."""

import base64
import binascii
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from scalehooks import json_input
from tasks_app import completion_sql
from tasks_app.errors import BatchNotFound, ProjectNotFound, TaskNotFound
from tasks_app.keys import Mode
from tasks_app.models import Batch, Project, Task, TaskCount, TaskTag
from tasks_app.representation import task_document_columns, task_documents

TASK_ID = re.compile(r"[0-9a-f]{24}")
# The largest offset a cursor may carry: more tasks than an account can have, and
# an integer every JSON client reads exactly (2**53 - 1).
MAX_OFFSET = 2**53 - 1


def _not_found(task_id: str) -> TaskNotFound:
    return TaskNotFound(f"No task with id {task_id}.")


def tasks_visible_to(*, user, mode: str):
    """The caller's own tasks of the key's mode. Every API read starts here."""
    return Task.objects.filter(owner=user, is_test=(mode == Mode.TEST))


def task_get(*, user, mode: str, task_id: str) -> Task:
    """The caller's task; another account's or mode's task is a 404, never a 403.

    A string that cannot be a task id is a 404 without a query (PostgreSQL would
    refuse a NUL character in it with an error, not an empty result)."""
    if not TASK_ID.fullmatch(task_id):
        raise _not_found(task_id)
    # By its id through the completion's prepared read (no query compiled per request), then
    # scoped here: the same 404 for another account's or mode's task as for none.
    read = completion_sql.task_to_check(task_id)
    task = read[0] if read is not None else None
    if task is None or task.owner_id != user.pk or task.is_test != (mode == Mode.TEST):
        raise _not_found(task_id)
    return task


def task_get_for_operator(*, task_id: str) -> Task:
    if not TASK_ID.fullmatch(task_id):
        raise _not_found(task_id)
    task = Task.objects.filter(id=task_id).first()
    if task is None:
        raise _not_found(task_id)
    return task


@contextmanager
def operator_task_found(task_id: str):
    """Around a service given an operator's ``task_id``: a string that cannot be a task id, or
    no such task (the service's ``Task.DoesNotExist``), is ``task_get_for_operator``'s 404,
    without a read of the task before the service's own."""
    if not TASK_ID.fullmatch(task_id):
        raise _not_found(task_id)
    try:
        yield
    except Task.DoesNotExist:
        raise _not_found(task_id) from None


# --- GET /v1/tasks ----------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last task's (created_at, id), and how many tasks came before."""

    created_at: datetime
    task_id: str
    offset: int

    def encode(self) -> str:
        raw = json.dumps(
            {"c": self.created_at.isoformat(), "i": self.task_id, "o": self.offset},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        """The cursor ``encode`` wrote; anything else (a token edited or made up) is a
        ``ValidationError``, never a value the query cannot take."""
        invalid = ValidationError({"next_token": ["Invalid next_token."]})
        try:
            raw = json_input.loads(
                base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), parse_constant=_refuse_constant
            )
            created_at, task_id, offset = raw["c"], raw["i"], raw["o"]
            if not (isinstance(created_at, str) and isinstance(task_id, str)):
                raise invalid
            created_at = datetime.fromisoformat(created_at)
            if created_at.tzinfo is None:
                raise invalid
            created_at = created_at.astimezone(UTC)  # OverflowError before year 1 or after 9999
        except (binascii.Error, ValueError, KeyError, TypeError, OverflowError):
            raise invalid from None
        if not TASK_ID.fullmatch(task_id):
            raise invalid
        if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
            raise invalid
        return cls(created_at=created_at, task_id=task_id, offset=offset)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number of a next_token")


@dataclass(frozen=True)
class TaskPage:
    docs: list[dict]  # the task objects (``representation.task_documents``)
    total: int
    limit: int
    offset: int
    has_more: bool
    next_token: str | None


# query parameter → model lookup, for the time ranges (inclusive bounds)
TIME_FILTERS = {
    "start_time": "created_at__gte",
    "end_time": "created_at__lte",
    "created_after": "created_at__gte",
    "created_before": "created_at__lte",
    "completed_after": "completed_at__gte",
    "completed_before": "completed_at__lte",
    "updated_after": "updated_at__gte",
    "updated_before": "updated_at__lte",
}


# Every filter ``tasks_filtered`` applies (``TaskListInput``'s, ``limit`` and ``next_token`` aside).
FILTERS = (
    "status",
    "type",
    "project",
    "batch",
    *TIME_FILTERS,
    "unique_id",
    "tags",
    "customer_review_status",
)


def tasks_filtered(*, user, mode: str, filters: dict):
    """The caller's tasks matching validated ``filters`` (see ``TaskListInput``)."""
    tasks = tasks_visible_to(user=user, mode=mode)
    for name in ("status", "type", "project", "batch"):
        if filters.get(name) is not None:
            tasks = tasks.filter(**{name: filters[name]})
    for name, lookup in TIME_FILTERS.items():
        if filters.get(name) is not None:
            tasks = tasks.filter(**{lookup: filters[name]})
    if filters.get("unique_id"):
        tasks = tasks.filter(unique_id__in=filters["unique_id"])
    tags = set(filters.get("tags") or ())
    if tags:
        # Every tag given must be on the task: one subquery, not a join per tag
        # (SQLite allows at most 64 tables in a join), over the caller's tags only.
        having_all = (
            TaskTag.objects.filter(task__owner=user, task__is_test=(mode == Mode.TEST), name__in=tags)
            .values("task_id")
            .annotate(matched=Count("id"))
            .filter(matched=len(tags))
            .values("task_id")
        )
        tasks = tasks.filter(id__in=having_all)
    if filters.get("customer_review_status"):
        # "pending": not reviewed yet (the field is absent on the task).
        statuses = ["" if s == "pending" else s for s in filters["customer_review_status"]]
        tasks = tasks.filter(customer_review_status__in=statuses)
    return tasks


def tasks_page(*, user, mode: str, filters: dict, limit: int, next_token: str | None) -> TaskPage:
    """One page of the caller's tasks, newest first (created_at, then id, descending).

    The cursor is the last task returned: a page holds the tasks strictly after
    it in that order, so tasks created while a client pages (newer than every
    cursor) are neither returned nor shift the later pages.
    """
    tasks = tasks_filtered(user=user, mode=mode, filters=filters)
    if any(filters.get(name) not in (None, []) for name in FILTERS):
        total = tasks.count()
    else:  # all of them: one row, kept by the database (``TaskCount``), not a count of millions
        counted = TaskCount.objects.filter(owner=user, is_test=(mode == Mode.TEST)).values_list(
            "tasks", flat=True
        )
        total = next(iter(counted), 0)
    offset = 0
    if next_token:
        cursor = Cursor.decode(next_token)
        offset = cursor.offset
        tasks = tasks.filter(
            Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, id__lt=cursor.task_id)
        )
    plain, as_text = task_document_columns()
    rows = list(tasks.order_by("-created_at", "-id").values(*plain, **as_text)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    token = None
    if has_more:
        last = rows[-1]
        token = Cursor(created_at=last["created_at"], task_id=last["id"], offset=offset + len(rows)).encode()
    return TaskPage(
        docs=task_documents(rows),
        total=total,
        limit=limit,
        offset=offset,
        has_more=has_more,
        next_token=token,
    )


# --- projects and batches (SPEC §12) ------------------------------------------------


def projects_visible_to(*, user, mode: str):
    """The caller's projects of the key's mode, newest first."""
    return Project.objects.filter(owner=user, is_test=(mode == Mode.TEST))


def project_get(*, user, mode: str, name: str) -> Project:
    project = projects_visible_to(user=user, mode=mode).filter(name=name).first()
    if project is None:
        raise ProjectNotFound(f"No project named {name!r}.")
    return project


def batches_visible_to(*, user, mode: str):
    """The caller's batches of the key's mode, newest first, each with its project."""
    return Batch.objects.filter(owner=user, is_test=(mode == Mode.TEST)).select_related("project")


def batch_get(*, user, mode: str, name: str) -> Batch:
    batch = batches_visible_to(user=user, mode=mode).filter(name=name).first()
    if batch is None:
        raise BatchNotFound(f"No batch named {name!r}.")
    return batch


def batches_filtered(*, user, mode: str, filters: dict):
    """The caller's batches matching validated ``filters`` (see ``BatchListInput``)."""
    batches = batches_visible_to(user=user, mode=mode)
    if filters.get("project"):
        batches = batches.filter(project__name=filters["project"])
    if filters.get("status"):
        batches = batches.filter(status=filters["status"])
    if filters.get("start_time") is not None:
        batches = batches.filter(created_at__gte=filters["start_time"])
    if filters.get("end_time") is not None:
        batches = batches.filter(created_at__lte=filters["end_time"])
    if filters.get("exclude_archived"):
        batches = batches.filter(archived=False)
    return batches.order_by("-created_at", "-id")
