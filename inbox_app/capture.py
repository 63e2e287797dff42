"""Capturing one request to ``/inbox/<token>/<any path>`` (SPEC §15): read it, verify it, store it.

Robust against what a request bin receives: the body is read in a bounded way
(``INBOX_MAX_BODY_BYTES`` kept, the rest read and dropped, the row flagged
``truncated``), whatever Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``; headers and
bodies that are not UTF-8 are kept with their bad bytes replaced. The
``scale-callback-auth`` value is checked, then stored masked: the account's
key is never kept in a captured row (nor any ``Authorization`` header).

Each inbox keeps its newest ``INBOX_MAX_REQUESTS``: every insert deletes the
one that fell out of the window, found on the ``(inbox, number)`` index, so
the cost of a capture does not grow with the inbox.

An account's captured requests share ``ACCOUNT_STORAGE_QUOTA_BYTES`` with its files
(``scalehooks.quota``, ``inbox_app.usage``; each row's ``stored_bytes``: its kept body, path,
query and headers). A capture that does not fit first deletes the oldest captured requests
of the account's inboxes, whichever inbox and mode, until it fits (with 1/64 of the quota to
spare): the newest are kept. When the account's files leave too little room even with none
of them, the request is still captured (an inbox never refuses a request for room), without
its body (``truncated``).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from callbacks_app.models import Delivery
from inbox_app import usage
from inbox_app.answers import Answer, answer_for
from inbox_app.models import CapturedRequest, Inbox
from inbox_app.verification import Secrets, header, verify
from scalehooks.quota import storage
from tasks_app.keys import Mode
from tasks_app.models import Profile

MASK = "***"
MASKED_HEADERS = ("scale-callback-auth", "authorization")
READ_CHUNK = 64 * 1024
MAX_DRAINED = 64 * 1024 * 1024  # bytes read past the kept part before giving up on a body
MAX_HEADERS = 200
MAX_HEADER_VALUE = 8192
MAX_PATH = 2048
MAX_QUERY = 8192
MAX_ATTEMPT = 10**6


@dataclass(frozen=True)
class Incoming:
    """A request as the capture route read it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    body_size: int
    remote_addr: str
    received_at: datetime

    @property
    def truncated(self) -> bool:
        return self.body_size > len(self.body)


def inbox_by_token(token: str) -> Inbox | None:
    """The inbox of this URL token, unless it expired."""
    return Inbox.objects.select_related("profile").filter(token=token, expires_at__gt=timezone.now()).first()


def body_read(stream, *, limit: int) -> tuple[bytes, int]:
    """The first ``limit`` bytes of ``stream`` and how many it held (read to its end, or
    ``MAX_DRAINED`` past the limit): a larger body is cut, never refused."""
    kept = bytearray()
    size = 0
    while size < limit + MAX_DRAINED:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    return bytes(kept), size


def storable(text: str) -> str:
    """``text`` with NUL replaced: PostgreSQL stores no NUL in text or JSON (``/inbox/t/a%00b``)."""
    return text.replace("\x00", "\ufffd")


def _text(value: str) -> str:
    """A WSGI header value (bytes as latin-1) as the UTF-8 text it most likely was."""
    try:
        return storable(value.encode("latin-1").decode("utf-8", errors="replace"))
    except UnicodeEncodeError:
        return storable(value)


def request_headers(meta: dict) -> list[tuple[str, str]]:
    """The request's headers from the WSGI environ, in the order the server gave them,
    as lower-case names (``HTTP_WEBHOOK_ID`` → ``webhook-id``)."""
    found = []
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        found.append((name.replace("_", "-").lower(), _text(str(value))[:MAX_HEADER_VALUE]))
        if len(found) == MAX_HEADERS:
            break
    return found


def masked(headers: list[tuple[str, str]]) -> list[list[str]]:
    return [[name, MASK if name in MASKED_HEADERS else value] for name, value in headers]


def secrets_of(profile: Profile, *, at: datetime) -> dict[str, Secrets]:
    """Each mode's auth key and signing secrets as they stood ``at`` (a previous secret
    only while its overlap lasts)."""
    result = {}
    for mode in Mode:
        previous, expires_at = profile.previous_signing_secret_of(mode)
        result[mode.value] = Secrets(
            auth_key=profile.callback_auth_key(mode),
            signing_secret=profile.signing_secret_of(mode),
            previous_signing_secret=previous if expires_at is not None and expires_at > at else "",
        )
    return result


def _delivery_id(headers, *, profile: Profile) -> str | None:
    """The webhook-id's delivery, when it is one of this account's (never another's)."""
    msg_id = header(headers, "webhook-id")
    if not msg_id or len(msg_id) > 32:
        return None
    return Delivery.objects.filter(id=msg_id, owner_id=profile.user_id).values_list("id", flat=True).first()


def _attempt_number(headers) -> int | None:
    value = (header(headers, "scale-callback-attempt") or "").strip()
    return int(value) if value.isdigit() and int(value) <= MAX_ATTEMPT else None


def _metadata_bytes(incoming: Incoming) -> int:
    text = [incoming.path[:MAX_PATH], incoming.query[:MAX_QUERY], *(n + v for n, v in incoming.headers)]
    return sum(len(part.encode("utf-8", errors="replace")) for part in text)


def request_capture(*, inbox: Inbox, incoming: Incoming, query) -> tuple[CapturedRequest, Answer]:
    """Store ``incoming`` in ``inbox`` with its verification, and decide the answer.

    The inbox's counter is taken with an F() update inside the transaction, so
    concurrent requests each get their own number and their own place in the
    script's sequence (the row stays locked until the commit).
    """
    verification = verify(
        headers=incoming.headers,
        body=incoming.body,
        received_at=incoming.received_at,
        secrets=secrets_of(inbox.profile, at=incoming.received_at),
        mode=inbox.mode,
    )
    delivery_id = _delivery_id(incoming.headers, profile=inbox.profile)
    body, metadata = incoming.body, _metadata_bytes(incoming)
    owner_id, needed = inbox.profile.user_id, len(incoming.body) + metadata
    # Read before the transaction (SQLite writes one at a time): captures that run at the same
    # moment may pass the quota together by their own sizes, as uploads may.
    room = storage.room(owner_id=owner_id, leaving_out=usage.QUOTA_NAME)
    fits = usage.captured_bytes(owner_id) + needed <= room
    with transaction.atomic():
        if not fits and usage.room_made(owner_id=owner_id, needed=needed, room=room) < needed:
            body = b""  # the account's files leave no room for it
        _counted(inbox, stored_bytes=len(body) + metadata)
        current = Inbox.objects.get(pk=inbox.pk)
        answer = answer_for(
            inbox=current,
            position=current.received_count - current.script_set_at_count,
            query=query,
            max_delay=settings.CALLBACK_TIMEOUT,
        )
        captured = CapturedRequest.objects.create(
            inbox=current,
            number=current.received_count,
            method=storable(incoming.method[:16]),
            path=storable(incoming.path[:MAX_PATH]),
            query=storable(incoming.query[:MAX_QUERY]),
            headers=masked(incoming.headers),
            body=body,
            body_size=incoming.body_size,
            truncated=incoming.body_size > len(body),
            stored_bytes=len(body) + metadata,
            remote_addr=storable(incoming.remote_addr[:64]),
            received_at=incoming.received_at,
            answer={**answer.as_dict(), "body": storable(answer.body)},
            delivery_id=delivery_id,
            attempt=_attempt_number(incoming.headers),
            verification=verification.as_dict(),
        )
        CapturedRequest.objects.filter(
            inbox=current, number__lte=current.received_count - settings.INBOX_MAX_REQUESTS
        ).delete()  # the rows _counted took off the total
    return captured, answer


def _counted(inbox: Inbox, *, stored_bytes: int) -> None:
    """The inbox's counter + 1 (the new request's number), and its total of stored bytes
    (``inbox_app.usage``) + the new request's, less the rows leaving its window, which the
    capture deletes next: one UPDATE, which locks the inbox (no other transaction deletes its
    rows without that lock first)."""
    leaving = (
        CapturedRequest.objects.filter(
            inbox=OuterRef("pk"), number__lte=OuterRef("received_count") + 1 - settings.INBOX_MAX_REQUESTS
        )
        .order_by()
        .values("inbox")
        .annotate(total=Sum("stored_bytes"))
        .values("total")
    )
    Inbox.objects.filter(pk=inbox.pk).update(
        received_count=F("received_count") + 1,
        stored_bytes=F("stored_bytes") + stored_bytes - Coalesce(Subquery(leaving), 0),
    )
