"""Domain errors shared by the apps: what services, selectors and validators raise.

They know nothing of HTTP. The API's exception handler
(``scalehooks.api.exception_handlers``) turns them into answers, the admin
into messages, the management commands into ``CommandError``. Invalid input
is Django's ``django.core.exceptions.ValidationError``.
"""


class DomainError(Exception):
    """A request the domain refuses, changing nothing (the API answers 400)."""


class NotFound(DomainError):
    """No such object for the caller (the API answers 404)."""


class NotOffered(DomainError):
    """A feature of Scale's API that this service does not offer (the API answers 402, which
    the official client raises as ``ScaleNotEnabled``)."""


class Conflict(DomainError):
    """The request conflicts with what is stored (the API answers 409)."""


class RateLimited(DomainError):
    """Too many requests of this kind for now (the API answers 429, ``Retry-After: retry_after``)."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class IllegalStateChange(Conflict):
    """The requested change is not allowed in the object's current state (the API answers 400,
    as Scale does: the official client raises ``ScaleInvalidRequest``)."""
