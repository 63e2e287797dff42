"""What an account's inboxes hold of its storage quota (SPEC §8 "Resources";
``ACCOUNT_STORAGE_QUOTA_BYTES``, shared with its files through ``scalehooks.quota``).

Each captured request holds ``stored_bytes`` (its kept body, path, query and headers), and
each inbox the total of its requests' (``Inbox.stored_bytes``), so that an account's usage
is a sum over its few inboxes, not over its thousands of requests. The totals change with
the rows, in the same transaction: a capture adds its row's bytes and takes off those of the
rows leaving its inbox's window (``inbox_app.capture._counted``), ``requests_forget`` takes
off the bytes of every row it deletes (the room a capture makes, "clear", the daily prune).
Deleting an inbox deletes its total with it.

Lock order, on PostgreSQL: an inbox row before the captured requests of that inbox, inboxes
in id order: captures, clears and the prune never wait for each other in a circle.
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import F, Sum

from inbox_app.models import CapturedRequest, Inbox

QUOTA_NAME = "inbox captures"  # this module's counter in scalehooks.quota
# A capture over the quota frees at least this part of the quota (or what it needs, if more):
# so the oldest rows are looked for once in a while, not at every capture of a full account.
ROOM_STEP = 64
CHUNK = 500


def captured_bytes(owner_id: int) -> int:
    """Bytes of the account's captured requests (its count in ``scalehooks.quota``)."""
    total = Inbox.objects.filter(profile__user_id=owner_id).aggregate(total=Sum("stored_bytes"))["total"]
    return max(0, total or 0)


def _lock(inbox_ids) -> list[Inbox]:
    """The inboxes locked for this transaction (PostgreSQL), in id order."""
    return list(Inbox.objects.select_for_update(of=("self",)).filter(id__in=inbox_ids).order_by("id"))


def requests_forget(rows, *, inboxes_locked: bool = False) -> int:
    """Delete the captured requests ``rows`` (a queryset) and take their bytes off their
    inboxes' totals; returns how many were deleted. ``inboxes_locked``: the caller's
    transaction holds the rows' inboxes already (a capture, its own inbox)."""
    with transaction.atomic(savepoint=False):
        if not inboxes_locked:
            _lock(set(rows.values_list("inbox_id", flat=True)))
        found = list(rows.select_for_update(of=("self",)).values_list("id", "inbox_id", "stored_bytes"))
        totals = defaultdict(int)
        for _, inbox_id, size in found:
            totals[inbox_id] += size
        ids = [pk for pk, _, _ in found]
        deleted = 0
        for start in range(0, len(ids), CHUNK):
            deleted += CapturedRequest.objects.filter(id__in=ids[start : start + CHUNK]).delete()[0]
        for inbox_id in sorted(totals):
            Inbox.objects.filter(pk=inbox_id).update(stored_bytes=F("stored_bytes") - totals[inbox_id])
        return deleted


def room_made(*, owner_id: int, needed: int, room: int) -> int:
    """In the caller's transaction: delete the account's oldest captured requests, whichever
    inbox, until ``needed`` more bytes fit in ``room`` (what the quota leaves the captures),
    with ``room // ROOM_STEP`` to spare, or none is left. Returns the bytes left for the new
    request (less than ``needed`` when the account's files leave too little room)."""
    used = captured_bytes(owner_id)
    if used + needed <= room:
        return room - used
    inboxes = _lock(Inbox.objects.filter(profile__user_id=owner_id).values_list("id", flat=True))
    used = max(0, sum(inbox.stored_bytes for inbox in inboxes))
    excess = used + needed - room
    if excess <= 0:
        return room - used
    excess = min(used, max(excess, room // ROOM_STEP))
    oldest = CapturedRequest.objects.filter(inbox__in=[i.id for i in inboxes]).order_by("id")
    doomed, freed = [], 0
    for pk, size in oldest.values_list("id", "stored_bytes").iterator(chunk_size=CHUNK):
        if freed >= excess:
            break
        doomed.append(pk)
        freed += size
    requests_forget(CapturedRequest.objects.filter(id__in=doomed), inboxes_locked=True)
    return room - (used - freed)
