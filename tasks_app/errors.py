"""Domain errors of tasks, raised by the services (see ``scalehooks.errors``).

The API's exception handler (``scalehooks.api.exception_handlers``) answers them.
"""

from scalehooks.errors import Conflict, DomainError, IllegalStateChange, NotFound


class TaskNotFound(NotFound):
    """No such task for the caller: another account's task, or of the other mode, included (HTTP 404)."""


class TaskStateConflict(IllegalStateChange):
    """The requested change is not allowed in the task's current state (HTTP 400)."""


class DuplicateUniqueId(Conflict):
    """Another task of the same account and mode already has this ``unique_id`` (HTTP 409)."""

    def __init__(self, *, unique_id: str, existing_task_id: str):
        self.unique_id = unique_id
        self.existing_task_id = existing_task_id
        super().__init__(f"A task with unique_id {unique_id!r} already exists: {existing_task_id}")


class IdempotencyKeyReused(Conflict):
    """An ``Idempotency-Key`` already used for a different create request (HTTP 409)."""

    def __init__(self, *, key: str, existing_task_id: str):
        self.key = key
        self.existing_task_id = existing_task_id
        super().__init__(
            f"This Idempotency-Key was already used for a different request (task {existing_task_id})."
        )


class ProjectNotFound(NotFound):
    """No project of that name for the caller's account and mode (HTTP 404)."""


class BatchNotFound(NotFound):
    """No batch of that name for the caller's account and mode (HTTP 404)."""


class DuplicateName(Conflict):
    """A project or batch of that name already exists in the account and mode (HTTP 409)."""


class InvitationUsed(DomainError):
    """The team invitation was accepted already: its link works once."""


class InvitationExpired(DomainError):
    """The team invitation is older than its 48 hours."""


class InvitationRefused(Conflict):
    """A user holds the invited address by now: an invitation never attaches an existing user."""
