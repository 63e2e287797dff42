"""Domain errors of callbacks (see ``scalehooks.errors``)."""

from scalehooks.errors import DomainError, RateLimited


class NoCallbackTarget(DomainError):
    """The task has no callback_url and its account no default callback URL (HTTP 400)."""


class ResendLimitReached(RateLimited):
    """The task's callback was resent ``CALLBACK_RESEND_LIMIT`` times in the last hour (HTTP 429)."""


class FeedWaitsExceeded(RateLimited):
    """Too many requests wait on the callback feed, of the account or in the process (HTTP 429)."""
