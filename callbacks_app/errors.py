"""Domain errors of callbacks (see ``scalehooks.errors``)."""

from scalehooks.errors import DomainError


class NoCallbackTarget(DomainError):
    """The task has no callback_url and its account no default callback URL (HTTP 400)."""
