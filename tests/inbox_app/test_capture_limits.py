"""An inbox URL cannot fill the disk (SPEC §8 "Resources", §15; issue 25 F8): captures are
rate-limited per inbox (over the rate a 429 with Retry-After, not captured: an inbox never
answers a 5xx), and an account's captured requests stay within ``ACCOUNT_STORAGE_QUOTA_BYTES``
with its files: the oldest captured requests of the account's inboxes make room, the newest
are kept."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from inbox_app.models import CapturedRequest, Inbox
from inbox_app.services import inbox_create, inbox_prune, inbox_requests_clear
from tasks_app import files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

KIB = 1024


@pytest.fixture
def inboxes(account):
    return [inbox_create(profile=account.profile, mode=mode, name=f"bin {mode}") for mode in ("test", "live")]


def capture(inbox, path: str, body: bytes = b"{}"):
    return Client().post(f"/inbox/{inbox.token}{path}", body, content_type="application/octet-stream")


def test_captures_over_the_inbox_rate_are_a_429_and_not_captured(inboxes, settings):
    settings.INBOX_CAPTURE_RATE = "3/min"
    inbox, other = inboxes

    answers = [capture(inbox, f"/{n}") for n in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["status_code"] == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused["Content-Security-Policy"] == "sandbox"
    assert list(
        CapturedRequest.objects.filter(inbox=inbox).order_by("number").values_list("path", flat=True)
    ) == [
        "/0",
        "/1",
        "/2",
    ]
    # the rate is the inbox's own: another inbox of the account still captures
    assert capture(other, "/x").status_code == 200


def test_the_oldest_captures_of_the_accounts_inboxes_make_room_for_the_newest(inboxes, settings):
    settings.ACCOUNT_STORAGE_QUOTA_BYTES = 8 * KIB
    body = b"x" * KIB
    sent = []

    for n in range(12):  # alternating between the account's two inboxes, 12 KiB of bodies in all
        inbox = inboxes[n % 2]
        assert capture(inbox, f"/{n}", body).status_code == 200
        sent.append(f"/{n}")

    kept = list(CapturedRequest.objects.order_by("received_at", "id").values_list("path", flat=True))
    assert kept == sent[-len(kept) :], "the newest are kept, across the inboxes"
    assert 4 <= len(kept) < 8
    assert sum(len(bytes(r.body)) for r in CapturedRequest.objects.all()) <= 8 * KIB
    assert all(not r.truncated for r in CapturedRequest.objects.all())


def test_another_accounts_captures_are_never_deleted_for_room(inboxes, other_account, settings):
    settings.ACCOUNT_STORAGE_QUOTA_BYTES = 4 * KIB
    theirs = inbox_create(profile=other_account.profile, mode="test", name="theirs")
    capture(theirs, "/theirs", b"y" * KIB)

    for n in range(8):
        capture(inboxes[0], f"/{n}", b"x" * KIB)

    assert CapturedRequest.objects.filter(inbox=theirs).count() == 1


def test_when_files_fill_the_quota_a_capture_is_kept_without_its_body(account, inboxes, settings):
    settings.ACCOUNT_STORAGE_QUOTA_BYTES = 4 * KIB
    files.file_upload(
        owner=account.user,
        mode="live",
        upload=SimpleUploadedFile("full.bin", b"f" * (4 * KIB)),
        project_names=[],
    )

    answer = capture(inboxes[0], "/cb", b"x" * KIB)

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get()
    assert (bytes(captured.body), captured.body_size, captured.truncated) == (b"", KIB, True)


def assert_totals_match_rows() -> None:
    for inbox in Inbox.objects.all():
        rows = CapturedRequest.objects.filter(inbox=inbox)
        assert inbox.stored_bytes == sum(r.stored_bytes for r in rows), inbox.name
        assert all(r.stored_bytes >= len(bytes(r.body)) for r in rows)


def test_each_inboxs_total_follows_its_rows(inboxes, settings):
    settings.ACCOUNT_STORAGE_QUOTA_BYTES = 6 * KIB
    settings.INBOX_MAX_REQUESTS = 3
    for n in range(10):  # the inboxes' windows, then the quota, delete rows
        capture(inboxes[n % 2], f"/{n}?q={n}", b"x" * (300 * n))
    assert_totals_match_rows()

    inbox_requests_clear(inbox=inboxes[0])
    assert_totals_match_rows()
    CapturedRequest.objects.update(
        received_at=timezone.now() - timedelta(days=settings.INBOX_RETENTION_DAYS + 1)
    )
    capture(inboxes[0], "/fresh", b"y" * 100)
    inbox_prune()
    assert_totals_match_rows()
    assert list(CapturedRequest.objects.values_list("path", flat=True)) == ["/fresh"]
