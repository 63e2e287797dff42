"""Reading tasks, always scoped to the caller (SPEC §3, §8)."""

from rest_framework.exceptions import NotFound

from tasks_app.keys import Mode
from tasks_app.models import Task


def tasks_visible_to(*, user, mode: str):
    """The caller's own tasks of the key's mode. Every API read starts here."""
    return Task.objects.filter(owner=user, is_test=(mode == Mode.TEST))


def task_get(*, user, mode: str, task_id: str) -> Task:
    """The caller's task; another account's or mode's task is a 404, never a 403."""
    task = tasks_visible_to(user=user, mode=mode).filter(id=task_id).first()
    if task is None:
        raise NotFound(f"No task with id {task_id}.")
    return task


def task_get_for_operator(*, task_id: str) -> Task:
    task = Task.objects.filter(id=task_id).first()
    if task is None:
        raise NotFound(f"No task with id {task_id}.")
    return task
