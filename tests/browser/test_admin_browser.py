"""The operator's admin in a real browser: the dashboard, a failed delivery, resend."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import unquote
from django.utils import timezone

from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import DeliveryFactory, TaskFactory
from tests.servers import Answer
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def text(page, selector) -> str:
    return " ".join(page.inner_text(selector).split())


def test_dashboard_shows_the_figures_of_the_data(staff_page, live_server, artifacts):
    now = timezone.now()
    for status, target in [
        ("succeeded", "http://good.example/hook"),
        ("succeeded", "http://good.example/hook"),
        ("succeeded", "http://flaky.example/hook"),
        ("failed", "http://flaky.example/hook"),
        ("failed", "http://dead.example/hook"),
    ]:
        DeliveryFactory(status=status, target=target, finished_at=now - timedelta(minutes=20))
    waiting = DeliveryFactory(status="pending", attempt_count=1, next_attempt_at=now + timedelta(minutes=9))
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery=waiting, number=n, started_at=now, duration_ms=ms)
        for n, ms in enumerate([12, 15, 20, 30, 250], start=1)
    )

    staff_page.click("text=Callback dashboard")
    staff_page.click("text=24 hours")

    assert text(staff_page, "#figure-total .sh-figure") == "6"
    # 3 delivered of the 6 that finished (5) or are retrying (the waiting one, after 5 failed attempts)
    assert text(staff_page, "#figure-success-rate .sh-figure") == "50.0 %"
    assert "2 failed, 1 retrying" in text(staff_page, "#figure-success-rate")
    assert text(staff_page, "#figure-attempt-rate .sh-figure") == "0.0 %"
    assert text(staff_page, "#figure-p50 .sh-figure") == "20 ms"
    assert text(staff_page, "#figure-p95 .sh-figure") == "250 ms"
    assert text(staff_page, "#figure-retrying .sh-figure") == "1"
    assert text(staff_page, "#figure-overdue .sh-figure") == "0"
    assert text(staff_page, "#outcomes tr[data-status=failed] .count") == "2"
    assert text(staff_page, "#outcomes tr[data-status=retrying] .count") == "1"
    worst = [" ".join(row.split()) for row in staff_page.locator("#worst-targets tbody tr").all_inner_texts()]
    assert worst == [
        "http://dead.example/hook 1 0 1 100.0 %",
        f"{waiting.target} 0 1 0 100.0 %",
        "http://flaky.example/hook 1 0 2 50.0 %",
    ]
    assert staff_page.locator("#chart rect.succeeded").count() == 0  # the attempts of the window all failed
    assert staff_page.locator("#chart rect.failed").count() == 1
    staff_page.screenshot(path=artifacts / "dashboard.png", full_page=True)


@pytest.mark.cluster
def test_operator_reads_a_failed_delivery_and_resends_it(
    staff_page, live_server, artifacts, account, receiver, settings, start_cluster
):
    # Given a task whose callback failed for good: two answers 500, no retry left.
    settings.CALLBACK_RETRY_SCHEDULE = [0.05]
    receiver.answer(Answer(500, b"upstream exploded"))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    failed = deliver_until_finished(Delivery.objects.get(task=task).id)
    assert failed.status == Delivery.Status.FAILED
    # ... and a receiver that works again, and workers to send what is queued.
    receiver.answer(Answer(200, b"thanks"))
    start_cluster()

    # When the operator finds the failed delivery and reads its attempts,
    staff_page.click("text=Failed deliveries")
    staff_page.click(f"text={failed.id}")
    staff_page.wait_for_selector("#attempts-group tbody tr")
    attempts = staff_page.locator("#attempts-group tbody tr.form-row").all_inner_texts()
    assert len(attempts) == 2
    assert all("HTTP 500" in row and "upstream exploded" in row for row in attempts)
    staff_page.screenshot(path=artifacts / "failed-delivery.png", full_page=True)

    # then presses resend,
    staff_page.click("#action-resend")

    # the new delivery's page opens and shows it succeed against the receiver.
    staff_page.wait_for_url(re.compile(r"/admin/callbacks_app/delivery/msg_\w+/change/$"))
    new_id = unquote(staff_page.url.rstrip("/").split("/")[-2])
    assert new_id != failed.id
    assert "Resent the callback of task" in text(staff_page, ".messagelist")

    def shows_succeeded():
        if text(staff_page, ".field-status .readonly") == "Succeeded":
            return True
        staff_page.reload()
        return False

    wait_until(shows_succeeded, 30, "the resent delivery did not succeed within 30 s", interval=0.1)
    assert text(staff_page, ".field-status .readonly") == "Succeeded"
    assert "HTTP 200" in text(staff_page, "#attempts-group tbody")
    assert receiver.requests[-1].header("webhook-id") == new_id
    staff_page.screenshot(path=artifacts / "resent-delivery.png", full_page=True)


def test_the_deliveries_list_fits_the_page_with_times_to_the_second(
    staff_page, live_server, artifacts, account
):
    # Given deliveries with a long target, one retrying after three attempts seconds apart.
    target = "https://hooks.a-customer-with-a-rather-long-name.example.com/scale/callbacks?token=" + "x" * 40
    now = timezone.now().replace(microsecond=0)
    retrying = DeliveryFactory(
        task=TaskFactory(owner=account.user),
        target=target,
        status="pending",
        attempt_count=3,
        next_attempt_at=now + timedelta(minutes=1),
    )
    for number, after in enumerate((0, 10, 40), start=1):
        DeliveryAttempt.objects.create(
            delivery=retrying,
            number=number,
            started_at=now + timedelta(seconds=after),
            status_code=503,
            error="HTTP 503",
        )
    for status in ("succeeded", "failed"):
        DeliveryFactory(task=TaskFactory(owner=account.user), target=target, status=status, finished_at=now)

    staff_page.goto(f"{live_server.url}/admin/callbacks_app/delivery/")
    staff_page.screenshot(path=artifacts / "deliveries-list.png", full_page=True)

    results = staff_page.locator("#changelist .results")
    overflow = results.evaluate("element => element.scrollWidth - element.clientWidth")
    assert overflow <= 1, f"the list is {overflow} px wider than its area"
    row = text(staff_page, f"#result_list tr:has(a:text('{retrying.id}'))")
    assert "retrying after 3 failed attempts" in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", row), row

    staff_page.click(f"text={retrying.id}")
    staff_page.wait_for_selector("#attempts-group td.field-started_at")
    started = [
        " ".join(t.split())
        for t in staff_page.locator("#attempts-group td.field-started_at").all_inner_texts()
    ]
    assert started == [f"{now + timedelta(seconds=s):%Y-%m-%d %H:%M:%S} UTC" for s in (0, 10, 40)]
    staff_page.screenshot(path=artifacts / "delivery-retrying.png", full_page=True)
