"""django-q2 job functions: each takes ids and calls the service of the same name."""

from tasks_app import services


def task_attachments_check(task_id: str) -> None:
    services.task_attachments_check(task_id=task_id)


# The job's name before it was named after its service: jobs queued under it still run.
download_attachments = task_attachments_check
