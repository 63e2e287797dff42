"""The tasks app in the operators' admin: tasks (``tasks.py``), accounts (``profiles.py``),
projects and batches (``batches.py``)."""

from tasks_app.admin import batches, profiles, tasks

__all__ = ["batches", "profiles", "tasks"]
