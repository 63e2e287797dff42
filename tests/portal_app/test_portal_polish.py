"""What a customer reads in the portal (issue 26, item 8): copy buttons, pretty JSON beside the
bytes sent, batch rows named, a batch's resend, the inbox's forced failures left, dangerous
buttons marked, addresses with a trailing slash, a favicon, no references to a document users
do not have."""

import re

import pytest
from django.test import Client

from callbacks_app.models import Delivery
from inbox_app.services import inbox_create, inbox_update_script
from tasks_app.batches import batch_create, batch_finalize, project_create
from tests.factories import DeliveryFactory, TaskFactory
from tests.portal_app.conftest import signed_in

pytestmark = pytest.mark.django_db

PAGES = [
    "/portal/",
    "/portal/callbacks",
    "/portal/targets",
    "/portal/recover",
    "/portal/batches",
    "/portal/inboxes",
    "/portal/settings",
    "/portal/activity",
]


@pytest.fixture
def browser(account):
    return signed_in(Client(), user=account.user, account=account.profile, mode="live")


@pytest.mark.parametrize("path", PAGES)
def test_no_page_refers_to_the_spec_and_every_page_has_a_favicon(browser, path):
    page = browser.get(path).content.decode()

    assert "§" not in page
    assert re.search(r'<link rel="icon" href="[^"]+favicon.svg"', page)


def test_an_address_with_a_trailing_slash_is_the_same_page(browser):
    answer = browser.get("/portal/inboxes/?x=1")

    assert (answer.status_code, answer["Location"]) == (302, "/portal/inboxes?x=1")
    assert browser.get("/portal/no-such-page/").status_code == 404


def test_the_inbox_url_has_a_copy_button_and_says_how_many_forced_failures_are_left(browser, account):
    inbox = inbox_create(profile=account.profile, mode="live", name="mine")
    inbox_update_script(inbox=inbox, fail_count=2, fail_status=503)
    Client().post(f"/inbox/{inbox.token}/hook", b"{}", content_type="application/json")  # one of them spent

    page = browser.get(f"/portal/inboxes/{inbox.id}").content.decode()

    assert 'data-copy="#inbox-url"' in page
    assert "the next <strong>1</strong> request gets 503, then every request gets 200" in page
    assert re.search(r'value="Delete this inbox" class="danger"', page)


def test_a_delivery_shows_its_payload_pretty_and_as_sent(browser, account):
    task = TaskFactory(owner=account.user, status="completed")
    delivery = DeliveryFactory(task=task, owner=account.user, payload='{"task_id":"x","status":"completed"}')

    page = browser.get(f"/portal/callbacks/{delivery.id}").content.decode()

    assert '"task_id": "x",\n  "status": "completed"' in page.replace(
        "&quot;", '"'
    )  # pretty, in the order sent
    assert '{"task_id":"x","status":"completed"}' in page.replace("&quot;", '"')  # the bytes sent
    assert 'data-copy="#raw-payload"' in page
    assert f'href="/portal/tasks/{task.id}"' in page


def test_batch_rows_name_the_batch_and_its_page_resends_its_callback(browser, account):
    project_create(owner=account.user, mode="live", name="p", task_type="categorization", params={})
    batch = batch_create(
        owner=account.user, mode="live", project_name="p", name="spring", callback="https://example.com/b"
    )
    batch_finalize(batch_id=batch.id)  # empty: it completes at once, with its callback
    assert Delivery.objects.filter(batch=batch).count() == 1

    listed = browser.get("/portal/callbacks").content.decode()
    assert f'batch <a href="/portal/batches/{batch.id}">spring</a>' in listed
    page = browser.get(f"/portal/batches/{batch.id}").content.decode()
    assert 'id="resend-batch"' in page
    answer = browser.post(f"/portal/batches/{batch.id}/resend")
    assert answer.status_code == 302
    assert Delivery.objects.filter(batch=batch).count() == 2
