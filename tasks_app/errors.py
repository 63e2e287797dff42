"""Domain errors raised by services; the API's exception handler and the admin translate them."""


class TaskStateConflict(Exception):
    """The requested change is not allowed in the task's current state (HTTP 409)."""


class DuplicateUniqueId(Exception):
    """Another task of the same account and mode already has this ``unique_id`` (HTTP 409)."""

    def __init__(self, *, unique_id: str, existing_task_id: str):
        self.unique_id = unique_id
        self.existing_task_id = existing_task_id
        super().__init__(
            f"A task with unique_id {unique_id!r} already exists: {existing_task_id}"
        )


class NoCallbackTarget(Exception):
    """The task has no callback_url and its account no default callback URL (HTTP 400)."""


class IdempotencyKeyReused(Exception):
    """An ``Idempotency-Key`` already used for a different create request (HTTP 409)."""

    def __init__(self, *, key: str, existing_task_id: str):
        self.key = key
        self.existing_task_id = existing_task_id
        super().__init__(
            f"This Idempotency-Key was already used for a different request (task {existing_task_id})."
        )
