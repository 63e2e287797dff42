"""The data side of inbox_app's migrations, run for real on the test database."""

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("inbox_app", "0001_initial")]
AFTER = [("inbox_app", "0002_storage_quota")]


def test_0002_counts_the_requests_captured_before_it_in_their_inboxes(migrator, account):
    old = migrator(BEFORE)
    Inbox, CapturedRequest = (
        old.get_model("inbox_app", "Inbox"),
        old.get_model("inbox_app", "CapturedRequest"),
    )
    now = timezone.now()
    full, _empty = (
        Inbox.objects.create(
            profile_id=account.profile.pk, mode="test", name=name, expires_at=now + timedelta(days=1)
        )
        for name in ("full", "empty")
    )
    for number, body in enumerate([b"x" * 100, b"y" * 50], start=1):
        CapturedRequest.objects.create(
            inbox=full, number=number, method="POST", path="/cb", query="a=1", body=body, received_at=now
        )

    new = migrator(AFTER)

    rows = new.get_model("inbox_app", "CapturedRequest").objects.order_by("number")
    assert [r.stored_bytes for r in rows] == [100 + 3 + 3, 50 + 3 + 3]
    totals = dict(new.get_model("inbox_app", "Inbox").objects.values_list("name", "stored_bytes"))
    assert totals == {"full": 162, "empty": 0}
