"""The portal's inbox pages, on inbox_app's services: script, use, pages of requests, clear,
delete; and a batch's page with its callback state."""

import re

import pytest
from django.utils import timezone

from callbacks_app.models import Delivery
from inbox_app.models import CapturedRequest, Inbox
from inbox_app.services import inbox_create
from tasks_app.batches import batch_create, batch_finalize, project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(account):
    return inbox_create(profile=account.profile, mode="test", name="mine")


def capture(inbox, count: int) -> None:
    CapturedRequest.objects.bulk_create(
        CapturedRequest(inbox=inbox, number=n, method="POST", path=f"/r{n}", received_at=timezone.now())
        for n in range(1, count + 1)
    )


SCRIPT = {
    "answer_status": "200",
    "answer_body": "ok",
    "answer_headers": "Retry-After: 30",
    "answer_delay_s": "0",
    "fail_count": "2",
    "fail_status": "503",
    "failure_rate": "0",
}


def test_the_script_form_sets_fail_n_then_200(portal, inbox):
    answer = portal.post(f"/portal/inboxes/{inbox.id}/script", SCRIPT)
    assert answer.status_code == 302
    inbox.refresh_from_db()
    assert (inbox.fail_count, inbox.fail_status, inbox.answer_status) == (2, 503, 200)
    assert inbox.answer_headers == {"Retry-After": "30"}


def test_the_preset_button_is_fail_2_then_200(portal, inbox):
    page = portal.get(f"/portal/inboxes/{inbox.id}").content.decode()
    preset = page[page.index('id="preset-fail-2"') : page.index("</form>", page.index('id="preset-fail-2"'))]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', preset))
    fields.pop("csrfmiddlewaretoken")
    portal.post(f"/portal/inboxes/{inbox.id}/script", fields)
    inbox.refresh_from_db()
    assert (inbox.fail_count, inbox.fail_status, inbox.answer_status) == (2, 503, 200)


def test_a_bad_script_is_a_400_naming_the_field(portal, inbox):
    answer = portal.post(f"/portal/inboxes/{inbox.id}/script", {**SCRIPT, "answer_status": "99"})
    assert answer.status_code == 400
    assert "greater than or equal to 200" in answer.content.decode()
    answer = portal.post(
        f"/portal/inboxes/{inbox.id}/script", {**SCRIPT, "answer_headers": "Content-Length: 3"}
    )
    assert answer.status_code == 302
    assert "Not a header name a script may set" in portal.get(f"/portal/inboxes/{inbox.id}").content.decode()
    inbox.refresh_from_db()
    assert inbox.fail_count == 0


def test_use_sets_this_sides_default_url_only(portal, inbox, account):
    portal.post(f"/portal/inboxes/{inbox.id}/use")
    account.profile.refresh_from_db()
    assert account.profile.test_default_callback_url == inbox.url
    assert account.profile.live_default_callback_url == ""


def test_create_and_use_in_one_click(portal, account):
    answer = portal.post("/portal/inboxes/create", {"name": "new", "use": "1"})
    created = Inbox.objects.get(name="new")
    assert answer["Location"] == f"/portal/inboxes/{created.id}"
    account.profile.refresh_from_db()
    assert account.profile.test_default_callback_url == created.url


def test_requests_come_in_pages_of_50(portal, inbox):
    capture(inbox, 60)
    newest = portal.get(f"/portal/inboxes/{inbox.id}").content.decode()
    assert newest.count("data-request-id=") == 50
    assert "/r60</code>" in newest and "/r10</code>" not in newest
    older_id = CapturedRequest.objects.get(inbox=inbox, number=11).id
    assert f'href="?before={older_id}"' in newest
    older = portal.get(f"/portal/inboxes/{inbox.id}", {"before": older_id}).content.decode()
    assert older.count("data-request-id=") == 10
    assert "back to the newest" in older and "setInterval" not in older


def test_clear_and_delete(portal, inbox):
    capture(inbox, 3)
    portal.post(f"/portal/inboxes/{inbox.id}/clear")
    assert not CapturedRequest.objects.exists()
    portal.post(f"/portal/inboxes/{inbox.id}/delete")
    assert not Inbox.objects.exists()
    assert portal.get(f"/portal/inboxes/{inbox.id}").status_code == 404


def test_a_batch_page_shows_its_callback_and_its_tasks_callbacks(portal, account, customer_test_mode):
    user = account.user
    project_create(owner=user, mode="test", name="p", task_type="categorization", params={})
    batch = batch_create(
        owner=user, mode="test", project_name="p", name="b1", callback="http://127.0.0.1:9/b"
    )
    created = customer_test_mode.post(
        "/v1/task/categorization",
        {"attachment": "tomato", "categories": ["red", "blue"], "project": "p", "batch": "b1"},
        format="json",
    )
    assert created.status_code == 200, created.content
    batch_finalize(batch_id=batch.id)
    page = portal.get(f"/portal/batches/{batch.id}").content.decode()
    assert "completed" in page
    delivery = Delivery.objects.get(batch=batch)
    assert delivery.id in page
    assert "0 pending, 1 completed" in page
    assert "0 succeeded, 0 failed, 1 not finished or none" in page
    assert "b1</a>" in portal.get("/portal/batches").content.decode()
