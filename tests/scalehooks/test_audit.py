"""Who did what, when and from where (issue 26, item 4): every state-changing action of the admin,
the portal, the API and the command line lands in the audit trail, shown in the admin (per task,
per account) and in the portal (the account's own); admin actions also in "Recent actions"."""

import pytest
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.core.management import call_command
from django.test import Client

from callbacks_app.models import TargetHealth
from scalehooks.audit import audit_trail
from tests.factories import teammate_create
from tests.portal_app.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_completed_by_an_operator(customer, operator):
    created = customer.post(
        "/v1/task/categorization",
        {"attachment": "a", "categories": ["x", "y"], "callback_url": "https://example.com/hook"},
        format="json",
    )
    task_id = created.json()["task_id"]
    assert (
        operator.post(
            f"/v1/ops/task/{task_id}/complete", {"response": {"category": "x"}}, format="json"
        ).status_code
        == 200
    )
    return task_id


def the_entry(**where):
    entries = [e for e in audit_trail() if all(e.additional_data.get(k) == v for k, v in where.items())]
    assert len(entries) == 1, [e.additional_data for e in audit_trail()]
    return entries[0]


def test_an_operators_completion_through_the_api_is_recorded(task_completed_by_an_operator, operator_account):
    entry = the_entry(action="task.complete")

    assert entry.object_pk == task_completed_by_an_operator
    assert entry.actor == operator_account.user
    assert entry.additional_data["actor"].startswith("operator operator@example.com (API key live_")
    assert entry.additional_data["via"] == "api"
    assert entry.remote_addr == "127.0.0.1"


def test_an_admin_resend_is_in_recent_actions_and_the_tasks_history(
    task_completed_by_an_operator, operator_account
):
    admin = Client()
    admin.force_login(operator_account.user)

    answer = admin.post(f"/admin/tasks_app/task/{task_completed_by_an_operator}/resend/")

    assert answer.status_code == 302
    recent = AdminLogEntry.objects.get(user=operator_account.user)
    assert "Resent the callback of task" in recent.change_message
    assert "Resent the callback of task" in admin.get("/admin/").content.decode()  # "Recent actions"
    entry = the_entry(action="callback.resend")
    assert (entry.additional_data["via"], entry.actor) == ("admin", operator_account.user)
    page = admin.get(f"/admin/tasks_app/task/{task_completed_by_an_operator}/change/").content.decode()
    assert "callback.resend" in page and "task.complete" in page  # the task's history


def test_a_settings_change_by_api_key_is_recorded_without_secrets(customer, account):
    customer.patch("/v1/profile", {"default_callback_url": "https://example.com/new"}, format="json")
    customer.post("/v1/profile/rotate_callback_auth_key")

    changed = the_entry(action="settings.update")
    assert changed.additional_data["changes"] == {
        "live_default_callback_url": ["", "https://example.com/new"]
    }
    assert changed.additional_data["actor"] == f"API key {account.live_api_key[:9]}…"
    rotated = the_entry(action="keys.rotate_callback_auth_key")
    account.profile.refresh_from_db()
    assert account.profile.live_callback_auth_key not in str(rotated.additional_data)
    assert account.live_api_key not in str([e.additional_data for e in audit_trail()])


def test_a_portal_pause_by_a_teammate_is_recorded_and_shown_in_the_portal(account):
    mate = teammate_create(account=account.profile, email="mate@example.com", role="admin")
    target = TargetHealth.objects.create(owner=account.user, mode="live", origin="https://example.com:443")
    browser = signed_in(Client(), user=mate, account=account.profile, mode="live")

    browser.post(f"/portal/targets/{target.id}/pause")

    entry = the_entry(action="target.pause")
    assert (entry.additional_data["actor"], entry.additional_data["via"], entry.actor) == (
        "mate@example.com",
        "portal",
        mate,
    )
    page = browser.get("/portal/activity").content.decode()
    assert "target.pause" in page and "mate@example.com" in page


def test_the_command_line_is_recorded(task_completed_by_an_operator, capsys):
    call_command("resend_callback", task_completed_by_an_operator)

    entry = the_entry(action="callback.resend")
    assert entry.additional_data["via"] == "cli"
    assert entry.additional_data["actor"].startswith("command line (user ")


def test_the_portal_shows_only_the_accounts_own_and_its_sides(account, other_account):
    other = Client()
    signed_in(other, user=other_account.user, account=other_account.profile, mode="live")
    mine = signed_in(Client(), user=account.user, account=account.profile, mode="test")
    mine.post("/portal/settings/default-url", {"url": "https://example.com/test-side"})

    assert "https://example.com/test-side" in mine.get("/portal/activity").content.decode()
    assert "https://example.com/test-side" not in other.get("/portal/activity").content.decode()


def test_the_accounts_activity_is_on_its_admin_page(customer, account, admin_client):
    customer.patch("/v1/profile", {"default_callback_url": "https://example.com/new"}, format="json")

    page = admin_client.get(f"/admin/tasks_app/profile/{account.profile.pk}/change/").content.decode()

    assert "settings.update" in page
