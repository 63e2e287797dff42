"""An operator made by ``create_account --staff`` uses the admin in a real browser (issue 16 point 5,
issue 26 acceptance 1): every page and link of the admin's index and of the dashboard opens, with a
callback target failing, and every action of the lists works for the Operators group."""

import io
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from callbacks_app.engine import callback_deliver
from callbacks_app.models import Delivery, TargetHealth
from tasks_app.batches import batch_create, project_create
from tasks_app.models import Task
from tasks_app.services import task_complete
from tests.browser.conftest import PASSWORD
from tests.conftest import deliver_until_finished
from tests.factories import EmailConfirmationFactory, TaskFactory
from tests.servers import Answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def operator_signs_in(page, live_server, monkeypatch, email="ops@example.com"):
    monkeypatch.setenv("OPS_PASSWORD", PASSWORD)
    call_command("create_account", email, "--staff", "--password-env", "OPS_PASSWORD", stdout=io.StringIO())
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_staff_account_logs_in_opens_the_dashboard_and_completes_a_task(
    page, live_server, account, monkeypatch
):
    task = TaskFactory(owner=account.user)

    operator_signs_in(page, live_server, monkeypatch)
    page.click("text=Callback dashboard")
    assert page.locator("#figure-total").count() == 1
    page.goto(f"{live_server.url}/admin/tasks_app/task/")
    page.click(f"text={task.id}")
    page.click("#action-complete")
    page.fill("textarea[name=response]", '{"category": "blue"}')
    page.click("input[name=_submit]")

    assert "Completed task" in page.inner_text(".messagelist")
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETED


@pytest.fixture
def a_target_failing(account, receiver, settings):
    """A service in use whose receiver answered once and now fails: deliveries retrying, the
    target failing, one delivery failed for good; projects, batches, an email address."""
    settings.CALLBACK_TARGET_ALERT_FAILURES = 2
    settings.CALLBACK_RETRY_SCHEDULE = [0.2]
    receiver.answer(Answer(200), Answer(500, b"upstream down"))
    owner = account.user
    project_create(owner=owner, mode="live", name="fruit", task_type="categorization", params={})
    batch_create(owner=owner, mode="live", project_name="fruit", name="monday")
    tasks = [TaskFactory(owner=owner, callback_url=receiver.url) for _ in range(4)]
    for task in tasks:
        task_complete(task_id=task.id, response={"category": "red"})
    deliveries = [Delivery.objects.get(task=task).id for task in tasks]
    assert deliver_until_finished(deliveries[0]).status == "succeeded"
    assert deliver_until_finished(deliveries[1]).status == "failed"  # both attempts failed
    for delivery_id in deliveries[2:]:
        callback_deliver(delivery_id=delivery_id)  # a failed attempt: retrying
    EmailConfirmationFactory(owner=owner)
    target = TargetHealth.objects.get()
    assert target.state == TargetHealth.State.FAILING
    return target


def same_origin_links(page, origin: str) -> set[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)")
    return {
        href.split("#")[0]
        for href in hrefs
        if href.startswith(origin) and not href.startswith(origin + "/static/")
    }


def screenshot_name(url: str) -> str:
    parts = urlsplit(url)
    return "operator-" + (
        re.sub(r"[^a-z0-9]+", "-", (parts.path + "-" + parts.query).lower()).strip("-") or "root"
    )


def test_an_operator_opens_every_page_and_link_of_the_index_and_the_dashboard(
    page, live_server, monkeypatch, a_target_failing, artifacts
):
    operator_signs_in(page, live_server, monkeypatch)
    origin = live_server.url
    refused = []

    # The index and the dashboard, and every link they offer, opened in the browser.
    offered = set()
    for start in (f"{origin}/admin/", f"{origin}/admin/dashboard/"):
        response = page.goto(start)
        assert response.status == 200, start
        page.screenshot(path=artifacts / f"{screenshot_name(start)}.png", full_page=True)
        offered |= same_origin_links(page, origin)
    assert f"{origin}/admin/callbacks_app/targethealth/?state__exact=failing" in offered  # the banner's
    second_level = set()
    for url in sorted(offered):
        response = page.goto(url)
        if response.status >= 400:
            refused.append((url, response.status))
            continue
        page.screenshot(path=artifacts / f"{screenshot_name(url)}.png", full_page=True)
        second_level |= same_origin_links(page, origin)

    # Every link of those pages, as the operator's session asks for it.
    for url in sorted(second_level - offered):
        status = page.request.get(url).status
        if status >= 400:
            refused.append((url, status))

    assert refused == []
    assert len(offered) > 20 and len(second_level) > 100  # the walk walked


def test_every_action_of_the_lists_works_for_an_operator(
    page, live_server, monkeypatch, a_target_failing, artifacts
):
    operator_signs_in(page, live_server, monkeypatch)
    changelists = [
        "/admin/tasks_app/task/",
        "/admin/tasks_app/profile/",
        "/admin/tasks_app/batch/",
        "/admin/callbacks_app/delivery/",
        "/admin/callbacks_app/faileddelivery/",
        "/admin/callbacks_app/targethealth/",
    ]
    ran = []
    for changelist in changelists:
        page.goto(f"{live_server.url}{changelist}")
        actions = page.eval_on_selector_all(
            "select[name=action] option", "options => options.map(o => o.value).filter(v => v)"
        )
        for action in actions:
            page.goto(f"{live_server.url}{changelist}")
            page.locator("input[name=_selected_action]").first.check()
            page.select_option("select[name=action]", action)
            with page.expect_navigation() as navigation:
                page.click("button[name=index]")
            status = navigation.value.status
            assert status < 400, (changelist, action, status)
            assert page.locator(".errornote").count() == 0, (changelist, action)
            ran.append(f"{changelist} {action}")
    page.screenshot(path=artifacts / "operator-after-the-actions.png", full_page=True)

    assert len(ran) >= 10, ran  # resend, recall, five rotations, batch resend, two resends, pause, resume


def test_an_operator_pauses_and_resumes_a_target_from_its_page(
    page, live_server, monkeypatch, a_target_failing, artifacts
):
    operator_signs_in(page, live_server, monkeypatch)
    page.goto(f"{live_server.url}/admin/callbacks_app/targethealth/{a_target_failing.id}/change/")

    page.click("#action-pause")
    assert "Paused" in page.inner_text(".messagelist")
    page.screenshot(path=artifacts / "operator-target-paused.png", full_page=True)
    a_target_failing.refresh_from_db()
    assert a_target_failing.state == TargetHealth.State.PAUSED

    page.click("#action-resume")
    assert "Resumed" in page.inner_text(".messagelist")
    a_target_failing.refresh_from_db()
    assert a_target_failing.state == TargetHealth.State.FAILING


def test_a_page_the_operator_may_not_see_is_an_admin_page_saying_so(
    page, live_server, monkeypatch, artifacts
):
    operator_signs_in(page, live_server, monkeypatch)

    forbidden = page.goto(f"{live_server.url}/admin/auth/user/")
    page.screenshot(path=artifacts / "operator-403.png", full_page=True)
    assert forbidden.status == 403
    assert page.locator("#site-name").inner_text() == "ScaleHooks administration"
    assert "You may not see this page" in page.inner_text("#content")
    missing = page.goto(f"{live_server.url}/admin/callbacks_app/delivery/msg_nothing/change/")
    page.screenshot(path=artifacts / "operator-404.png", full_page=True)
    assert missing.status in (200, 404)  # Django's admin redirects a missing object to its list
