"""The tasks app in the operators' admin: tasks (``tasks.py``) and accounts (``profiles.py``)."""

from tasks_app.admin import profiles, tasks

__all__ = ["profiles", "tasks"]
