"""The callbacks list: its filters and cursor pages, and the pages' empty states."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.models import Delivery
from tests.factories import DeliveryFactory
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
