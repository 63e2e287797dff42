"""The callbacks list: its filters and cursor pages, and the pages' empty states."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from callbacks_app.models import Delivery
from tests.factories import DeliveryAttemptFactory, DeliveryFactory
from tests.portal_app.conftest import delivery_of

pytestmark = pytest.mark.django_db


def listed_ids(answer) -> list[str]:
    return re.findall(
        r'<tr data-status="\w+">\s*<td><a href="/portal/callbacks/(msg_\w+)"', answer.content.decode()
    )


def test_cursor_pages_cover_every_delivery_once(portal, account):
    first = delivery_of(account.user, is_test=True)
    now = timezone.now()
    for n in range(29):
        DeliveryFactory(task=first.task, owner=account.user, created_at=now - timedelta(seconds=n))
    page_one = portal.get("/portal/callbacks")
    ids_one = listed_ids(page_one)
    assert len(ids_one) == 25
    next_href = re.search(r'href="\?([^"]+)" id="next-page"', page_one.content.decode()).group(1)
    delivery_of(account.user, is_test=True)  # a new one does not shift the next page
    page_two = portal.get(f"/portal/callbacks?{next_href.replace('&amp;', '&')}")
    ids_two = listed_ids(page_two)
    assert len(ids_two) == 5
    assert not set(ids_one) & set(ids_two)
    assert 'id="last-page"' in page_two.content.decode()


def test_filters_narrow_the_list(portal, account):
    failed = delivery_of(account.user, is_test=True, status="failed", target="http://a.example/hook")
    delivery_of(account.user, is_test=True, status="succeeded", target="http://b.example/hook")
    assert listed_ids(portal.get("/portal/callbacks", {"status": "failed"})) == [failed.id]
    assert listed_ids(portal.get("/portal/callbacks", {"target": "a.example"})) == [failed.id]
    assert listed_ids(portal.get("/portal/callbacks", {"task_id": failed.task_id})) == [failed.id]
    failed.task.unique_id = "order-17"
    failed.task.save()
    assert listed_ids(portal.get("/portal/callbacks", {"unique_id": "order-17"})) == [failed.id]
    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    empty = portal.get("/portal/callbacks", {"since": later})
    assert listed_ids(empty) == []
    assert "No callback matches these filters" in empty.content.decode()


def test_a_bad_filter_or_cursor_is_said_so(portal):
    bad = portal.get("/portal/callbacks", {"status": "nonsense"})
    assert bad.status_code == 400
    assert "Some filters are not valid" in bad.content.decode()
    edited = portal.get("/portal/callbacks", {"cursor": "not-a-cursor"}, follow=True)
    assert "Invalid cursor" in edited.content.decode()


def test_empty_states_say_what_to_do(portal):
    assert "No callbacks yet on the test side" in portal.get("/portal/callbacks").content.decode()
    overview = portal.get("/portal/").content.decode()
    assert "No callbacks yet" in overview and "curl -u TEST_API_KEY:" in overview
    assert "No batches on the test side yet" in portal.get("/portal/batches").content.decode()
    assert "No inbox on the test side yet" in portal.get("/portal/inboxes").content.decode()


def test_a_delivery_page_shows_its_attempts_masked(portal, account):
    delivery = delivery_of(account.user, is_test=True, status="pending", attempted=True)
    delivery.attempts.update(request_headers={"scale-callback-auth": "***", "webhook-id": delivery.id})
    page = portal.get(f"/portal/callbacks/{delivery.id}").content.decode()
    assert "scale-callback-auth: ***" in page
    assert "no answer" in page
    assert Delivery.objects.get(id=delivery.id).payload in page.replace("&quot;", '"') or "task_id" in page


def test_times_show_seconds_in_utc_marked_for_the_viewers_own_zone(portal, account):
    first = datetime(2026, 1, 2, 12, 0, 1, tzinfo=UTC)
    delivery = delivery_of(account.user, is_test=True, status="failed", created_at=first, finished_at=first)
    for number, after in enumerate((0, 10, 40), start=1):
        DeliveryAttemptFactory(
            delivery=delivery, number=number, started_at=first + timedelta(seconds=after), status_code=500
        )

    page = portal.get(f"/portal/callbacks/{delivery.id}").content.decode()
    listed = portal.get("/portal/callbacks").content.decode()

    # Each time in UTC with its seconds, in a <time> element the page's script adds the
    # viewer's own zone to.
    for at in ("12:00:01", "12:00:11", "12:00:41"):
        assert f'<time datetime="2026-01-02T{at}Z">2026-01-02 {at} UTC</time>' in page
    assert '<time datetime="2026-01-02T12:00:01Z">2026-01-02 12:00:01 UTC</time>' in listed
    assert "local-times.js" in page


def test_the_payload_is_shown_as_the_frozen_bytes_every_attempt_sends(portal, account):
    payload = '{"task_id":"t1","status":"completed","response":{"z":1,"a":2},"task":{"id":"t1"}}'
    delivery = delivery_of(account.user, is_test=True, status="succeeded", payload=payload)

    page = portal.get(f"/portal/callbacks/{delivery.id}").content.decode()

    assert payload in page.replace("&quot;", '"')
    assert f"{len(payload.encode())} bytes" in page


def test_the_list_marks_a_retrying_delivery_with_its_attempts_and_last_error(portal, account):
    delivery = delivery_of(
        account.user, is_test=True, status="pending", attempt_count=3, next_attempt_at=timezone.now()
    )
    for number in (1, 2, 3):
        DeliveryAttemptFactory(
            delivery=delivery,
            number=number,
            status_code=503,
            succeeded=False,
            error=f"HTTP 503 (try {number})",
        )

    html = portal.get("/portal/callbacks").content.decode()

    row = html.split(f'href="/portal/callbacks/{delivery.id}"')[1].split("</tr>")[0]
    assert "retrying after 3 failed attempts" in row
    assert "HTTP 503 (try 3)" in row


def test_a_private_targets_last_error_stays_hidden_in_the_list(portal, account):
    delivery = delivery_of(account.user, is_test=True, status="pending", attempt_count=1)
    DeliveryAttemptFactory(
        delivery=delivery,
        number=1,
        status_code=None,
        succeeded=False,
        error="10.0.0.7 refused",
        private_target=True,
    )

    html = portal.get("/portal/callbacks").content.decode()

    assert "retrying after 1 failed attempt" in html
    assert "10.0.0.7" not in html
