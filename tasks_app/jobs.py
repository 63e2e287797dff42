"""django-q2 job functions: they take ids, and call a service."""

from tasks_app.services import task_attachments_check


def download_attachments(task_id: str) -> None:
    task_attachments_check(task_id=task_id)
