"""An operator made by ``create_account --staff`` uses the admin in a real browser (issue 16 point 5)."""

import io

import pytest
from django.core.management import call_command

from tasks_app.models import Task
from tests.browser.conftest import PASSWORD
from tests.factories import TaskFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_staff_account_logs_in_opens_the_dashboard_and_completes_a_task(
    page, live_server, account, monkeypatch
):
    monkeypatch.setenv("OPS_PASSWORD", PASSWORD)
    call_command(
        "create_account", "ops@example.com", "--staff", "--password-env", "OPS_PASSWORD", stdout=io.StringIO()
    )
    task = TaskFactory(owner=account.user)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
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
