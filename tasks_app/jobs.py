"""django-q2 job functions: each takes ids and calls the service of the same name."""

from tasks_app import invitations, services


def task_attachments_check(task_id: str) -> None:
    services.task_attachments_check(task_id=task_id)


# The job's name before it was named after its service: jobs queued under it still run.
download_attachments = task_attachments_check


def invitations_send(invitation_ids: list[int]) -> int:
    """Mail each invitation's link (``tasks_app.invitations.invitation_send``); how many went out."""
    return sum(invitations.invitation_send(invitation_id=invitation_id) for invitation_id in invitation_ids)
