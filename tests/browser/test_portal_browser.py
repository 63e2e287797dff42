"""The customer portal in a real browser (SPEC §14, §15): from a one-time link to a verified,
signed callback in an inbox, a scripted "fail 2 then 200" resend, and the recovery of a
window, with every delivery sent by a real django-q2 cluster over real HTTP."""

import re

import pytest
import requests
from playwright.sync_api import expect

from callbacks_app.models import Delivery
from portal_app.links import portal_link_create
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.cluster]

# Two retries after the first attempt, 0.2 s apart: "fail 2 then 200" is three arrivals.
RETRIES = "0.2,0.2"


def shot(page, artifacts, name: str) -> None:
    page.screenshot(path=artifacts / f"portal-{name}.png", full_page=True)


def create_test_task(live_server, key: str) -> str:
    answer = requests.post(
        f"{live_server.url}/v1/task/categorization",
        auth=(key, ""),
        json={"attachment": "tomato", "categories": ["red", "blue"]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["task_id"]


def set_script(page, *, fail_count: int, fail_status: int = 503, answer_status: int = 200) -> None:
    page.fill("#id_fail_count", str(fail_count))
    page.fill("#id_fail_status", str(fail_status))
    page.fill("#id_answer_status", str(answer_status))
    page.click("#save-script")
    expect(page.locator(".messagelist")).to_contain_text("The script is saved")


def reload_until(page, check, message: str, timeout: float = 20.0):
    def holds():
        page.reload()
        return check()

    return wait_until(holds, timeout=timeout, message=message, interval=0.3)


@pytest.fixture
def portal_page(page, live_server, account, artifacts, settings):
    """The browser signed in to the test side through a one-time link, as ``make run`` prints it."""
    settings.PUBLIC_BASE_URL = live_server.url  # the inbox's URL: this live server
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    link = portal_link_create(user=account.user, account=account.profile, mode="test")
    page.goto(f"{live_server.url}{link.path}")
    shot(page, artifacts, "01-link")
    page.click("#use-link")
    expect(page.locator("#side")).to_have_text("TEST side")
    shot(page, artifacts, "02-overview-empty")
    return page


def test_from_a_link_to_a_verified_callback_a_scripted_resend_and_a_recovery(
    portal_page, live_server, account, artifacts, settings, start_cluster
):
    page = portal_page
    settings.CALLBACK_RETRY_SCHEDULE = [0.2, 0.2]
    start_cluster(CALLBACK_RETRY_SCHEDULE=RETRIES)

    # Given an inbox, used as the test side's default callback URL
    page.click("#portal-nav >> text=Inboxes")
    expect(page.locator("#no-inboxes")).to_be_visible()
    page.fill("#id_name", "Try-out")
    page.click("#create-inbox-button")
    page.click("#use-inbox")
    expect(page.locator("#inbox-is-default")).to_be_visible()
    account.profile.refresh_from_db()
    assert account.profile.test_default_callback_url == page.inner_text("#inbox-url")

    # When a task is created with the test key (it completes itself, SPEC §13)
    task_id = create_test_task(live_server, account.test_api_key)

    # Then the inbox shows its callback, auth and signature verified, without a reload
    row = page.locator("#inbox-requests tr.verified")
    expect(row).to_have_count(1, timeout=2_000)
    expect(row).to_contain_text("✓ test key")
    expect(row).to_contain_text("✓ current secret")
    shot(page, artifacts, "03-inbox-verified")
    page.click("#inbox-requests tr.verified td >> nth=0 >> a")
    expect(page.locator(".verification")).to_contain_text("webhook-signature")
    expect(page.locator(".reasons")).to_contain_text("Every check passed")
    shot(page, artifacts, "04-captured-request")

    # When the inbox fails the next 2 requests and the callback is resent from its delivery page
    page.click("text=Try-out")
    page.click("#preset-fail-2-button")
    expect(page.locator(".messagelist")).to_contain_text("The script is saved")
    expect(page.locator("#id_fail_count")).to_have_value("2")
    first = Delivery.objects.get(task_id=task_id)
    page.goto(f"{live_server.url}/portal/callbacks/{first.id}")
    expect(page.locator("#delivery-status")).to_contain_text("succeeded")
    page.click("#resend")
    expect(page.locator(".messagelist")).to_contain_text("Resent")
    resent_id = re.search(r"/portal/callbacks/(msg_\w+)", page.url).group(1)

    # Then three attempts arrive (503, 503, 200) and the task's callback succeeded
    reload_until(
        page,
        lambda: "succeeded" in page.inner_text("#delivery-status"),
        "the resent delivery did not succeed",
    )
    attempts = page.locator("#attempts tr.attempt")
    expect(attempts).to_have_count(3)
    assert [" ".join(t.split()) for t in page.locator("#attempts .attempt-status").all_inner_texts()] == [
        "HTTP 503",
        "HTTP 503",
        "HTTP 200 ✓",
    ]
    expect(page.locator("#callback-succeeded")).to_have_text("callback_succeeded: true")
    expect(page.locator("#payload")).to_contain_text('"task_id": "' + task_id)
    expect(page.locator("#raw-payload")).to_contain_text('{"task_id":"' + task_id)  # the bytes sent
    shot(page, artifacts, "05-delivery-three-attempts")
    page.goto(f"{live_server.url}/portal/inboxes")
    page.click("text=Try-out")
    expect(page.locator(f"#inbox-requests tr:has-text('{resent_id}')")).to_have_count(3)
    shot(page, artifacts, "06-inbox-three-arrivals")

    # Given two callbacks that fail for good (the inbox answers 503 to everything)
    set_script(page, fail_count=0, answer_status=503)
    failing = [create_test_task(live_server, account.test_api_key) for _ in range(2)]
    wait_until(
        lambda: Delivery.objects.filter(task_id__in=failing, status="failed").count() == 2,
        timeout=20,
        message="the two callbacks did not fail",
    )
    set_script(page, fail_count=0, answer_status=200)
    page.click("#portal-nav >> text=Overview")
    expect(page.locator("#failed-by-target")).to_contain_text(live_server.url)
    shot(page, artifacts, "07-overview-failing")
    page.click("#portal-nav >> text=Callbacks")
    page.select_option("#id_status", "failed")
    page.click("#filters input[type=submit]")
    expect(page.locator("#deliveries tbody tr")).to_have_count(2)
    shot(page, artifacts, "08-callbacks-failed")

    # When the window is recovered: the count first, then the background job
    page.click("#portal-nav >> text=Recover a window")
    page.click("#recover-count-button")
    expect(page.locator("#recover-count")).to_contain_text("2 callbacks to resend")
    shot(page, artifacts, "09-recover-count")
    page.click("#recover-start")

    # Then the progress bar fills and every failed task's callback is resent and succeeds
    expect(page.locator("#recovery-status")).to_have_text("finished", timeout=20_000)
    bar = page.locator("#recovery-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "2"
    expect(page.locator("#recovery-resent")).to_have_text("2")
    shot(page, artifacts, "10-recovery-finished")
    # No asset from the internet: every request the pages made went to this server.
    assert page.requested
    assert [url for url in page.requested if not url.startswith(live_server.url)] == []
    assert any("/static/admin/css/base.css" in url for url in page.requested)
    wait_until(
        lambda: (
            Delivery.objects.filter(task_id__in=failing, event="task.resent", status="succeeded").count() == 2
        ),
        timeout=20,
        message="the recovered callbacks did not succeed",
    )


def test_settings_send_a_test_callback_and_show_a_rotated_secret_once(
    portal_page, live_server, account, artifacts, settings, start_cluster
):
    page = portal_page
    start_cluster()
    page.click("#portal-nav >> text=Settings")
    page.click("#create-and-use-inbox")
    expect(page.locator("#inbox-is-default")).to_be_visible()
    page.click("#portal-nav >> text=Settings")
    page.click("#send-test-callback")
    expect(page.locator(".messagelist")).to_contain_text("callback.test")
    page.goto(f"{live_server.url}/portal/inboxes")
    page.click("text=Default callbacks (test)")
    row = page.locator("#inbox-requests tr.verified")
    expect(row).to_have_count(1, timeout=5_000)
    shot(page, artifacts, "11-test-callback-in-inbox")

    page.click("#portal-nav >> text=Settings")
    page.click("#rotate-signing-secret")
    expect(page.locator("#what-stops")).to_contain_text("After 24 hours")  # what stops working, first
    shot(page, artifacts, "12-settings-rotate-confirm")
    page.click("#confirm-rotation")
    secret = page.inner_text("#new-secrets .new-secret")
    account.profile.refresh_from_db()
    assert secret == account.profile.test_signing_secret
    shot(page, artifacts, "12-settings-rotated")
    page.click("#portal-nav >> text=Settings")  # shown once: the page again shows it masked
    assert secret not in page.content()
    assert secret[:9] + "…" in page.content()
    page.click("#portal-nav >> text=Batches")
    expect(page.locator("#no-batches")).to_be_visible()
    shot(page, artifacts, "13-batches-empty")
