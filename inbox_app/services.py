"""Writes of the callback inbox (SPEC §15). Services write, selectors read; both DRF-free.

The interface the API, the portal and the admin share (keep it stable):

- ``services.inbox_create(*, profile, mode, name) -> Inbox``
- ``services.inbox_update_script(*, inbox, **script) -> Inbox`` (fields of ``SCRIPT_FIELDS``;
  setting the script restarts its "fail N then ..." sequence)
- ``services.inbox_rename(*, inbox, name) -> Inbox``
- ``services.inbox_delete(*, inbox)``, ``services.inbox_requests_clear(*, inbox) -> int``
- ``services.inbox_prune(*, now) -> (requests, inboxes)``: the daily retention job
- ``selectors.inboxes_of(*, profile, mode)``, ``selectors.inbox_get(*, profile, mode, inbox_id)``
  (``scalehooks.errors.NotFound`` for another account's or mode's inbox)
- ``selectors.inbox_requests(*, inbox, limit=50, before=None, after=None, with_bodies=True)`` (newest first;
  ``before``: a request id, the cursor; ``after``: only newer ones, for a page that refreshes
  its list), ``selectors.captured_request_get(*, profile, mode, request_id)``
- ``selectors.inbox_timing(*, inbox)``: each captured callback with its attempt's due time,
  its arrival and the lateness
- ``Inbox.url``: absolute, from ``PUBLIC_BASE_URL``
- templates ``inbox/_requests.html`` (``requests``: the rows, ✓/✗ and reasons),
  ``inbox/_request.html`` (``captured``: headers, body, the verification panel) and
  ``inbox/_timing.html`` (``arrivals``: ``inbox_timing``'s rows); optional ``request_href`` and
  ``delivery_href``: link prefixes, the request's or the delivery's id appended
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inbox_app.answers import header_refusal
from inbox_app.models import MAX_SCRIPT_BODY, CapturedRequest, Inbox
from inbox_app.usage import requests_forget
from scalehooks.api.names import refuse_control_characters
from scalehooks.errors import DomainError
from tasks_app.keys import Mode

SCRIPT_FIELDS = (
    "answer_status",
    "answer_body",
    "answer_headers",
    "answer_delay_s",
    "fail_count",
    "fail_status",
    "failure_rate",
)
MAX_NAME = 200
MAX_FAIL_COUNT = 1000
MAX_ANSWER_HEADERS = 20


class TooManyInboxes(DomainError):
    pass


def _valid_name(name: str) -> str:
    """A name of 1 to ``MAX_NAME`` characters, none of them a control or format character."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationError({"name": [f"A name of 1 to {MAX_NAME} characters."]})
    try:
        refuse_control_characters(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from None
    return name


def inbox_create(*, profile, mode: str, name: str) -> Inbox:
    """A new inbox of ``profile`` in ``mode`` (the mode of the key that asks), expiring after
    ``INBOX_LIFETIME_DAYS``; at most ``INBOX_MAX_PER_ACCOUNT`` per account and mode."""
    name = _valid_name(name)
    mode = Mode(mode).value
    with transaction.atomic():
        if Inbox.objects.filter(profile=profile, mode=mode).count() >= settings.INBOX_MAX_PER_ACCOUNT:
            raise TooManyInboxes(
                f"At most {settings.INBOX_MAX_PER_ACCOUNT} inboxes per account and mode: delete one first."
            )
        now = timezone.now()
        return Inbox.objects.create(
            profile=profile,
            mode=mode,
            name=name,
            expires_at=now + timedelta(days=settings.INBOX_LIFETIME_DAYS),
        )


def inbox_rename(*, inbox: Inbox, name: str) -> Inbox:
    name = _valid_name(name)
    inbox.name = name
    inbox.save(update_fields=["name"])
    return inbox


def _status(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 200 <= value <= 599:
        raise ValidationError({field: ["An HTTP status from 200 to 599."]})
    return value


def _headers(value) -> dict[str, str]:
    """The allow-list of SPEC §8 "Content" (``answers.header_refusal``): the API and the
    portal's script form both come here."""
    if not isinstance(value, dict) or len(value) > MAX_ANSWER_HEADERS:
        raise ValidationError({"answer_headers": [f"An object of at most {MAX_ANSWER_HEADERS} headers."]})
    for name, text in value.items():
        if refusal := header_refusal(name, text):
            raise ValidationError({"answer_headers": [refusal]})
    return dict(value)


def _script_cleaned(script: dict) -> dict:
    unknown = set(script) - set(SCRIPT_FIELDS)
    if unknown:
        raise ValidationError({name: ["Not a field of the script."] for name in sorted(unknown)})
    cleaned = {}
    for field, value in script.items():
        if field in ("answer_status", "fail_status"):
            cleaned[field] = _status(value, field)
        elif field == "answer_body":
            if not isinstance(value, str) or len(value) > MAX_SCRIPT_BODY:
                raise ValidationError({field: [f"Text of at most {MAX_SCRIPT_BODY} characters."]})
            cleaned[field] = value
        elif field == "answer_headers":
            cleaned[field] = _headers(value)
        elif field == "answer_delay_s":
            limit = settings.CALLBACK_TIMEOUT
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= limit:
                raise ValidationError({field: [f"Seconds from 0 to CALLBACK_TIMEOUT ({limit:g})."]})
            cleaned[field] = float(value)
        elif field == "fail_count":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_FAIL_COUNT:
                raise ValidationError({field: [f"A count from 0 to {MAX_FAIL_COUNT}."]})
            cleaned[field] = value
        elif field == "failure_rate":
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValidationError({field: ["A fraction from 0 to 1."]})
            cleaned[field] = float(value)
    return cleaned


def inbox_update_script(*, inbox: Inbox, **script) -> Inbox:
    """Set some fields of the script (``SCRIPT_FIELDS``); its sequence starts again from
    the next request."""
    cleaned = _script_cleaned(script)
    Inbox.objects.filter(pk=inbox.pk).update(**cleaned, script_set_at_count=F("received_count"))
    inbox.refresh_from_db()
    return inbox


def inbox_delete(*, inbox: Inbox) -> None:
    """The inbox and every request it captured; its URL is a 404 from now on."""
    with transaction.atomic():
        CapturedRequest.objects.filter(inbox=inbox).delete()
        inbox.delete()


def inbox_requests_clear(*, inbox: Inbox) -> int:
    """Forget every request the inbox captured; returns how many."""
    return requests_forget(CapturedRequest.objects.filter(inbox=inbox))


def inbox_prune(*, now=None, batch_size: int = 1000) -> tuple[int, int]:
    """Delete captured requests older than ``INBOX_RETENTION_DAYS`` and expired inboxes,
    in batches (no long transaction). Returns (requests, inboxes) deleted."""
    now = now or timezone.now()
    older_than = now - timedelta(days=settings.INBOX_RETENTION_DAYS)
    requests_deleted = 0
    while True:
        ids = list(
            CapturedRequest.objects.filter(received_at__lt=older_than).values_list("id", flat=True)[
                :batch_size
            ]
        )
        if ids:
            requests_deleted += requests_forget(CapturedRequest.objects.filter(id__in=ids))
        if len(ids) < batch_size:
            break
    inboxes_deleted = 0
    for inbox in Inbox.objects.filter(expires_at__lte=now).iterator():
        inbox_delete(inbox=inbox)
        inboxes_deleted += 1
    return requests_deleted, inboxes_deleted
