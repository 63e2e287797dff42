"""Operators: one permission model for the admin and ``/v1/ops`` (issue 16 point 5, SPEC §5, §8).

``create_account --staff`` puts the user in the "Operators" group (a data
migration creates it); the admin's pages and actions and ``/v1/ops`` ask for
the same permissions, so a staff user outside the group sees neither.
"""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from tasks_app.accounts import account_create
from tasks_app.models import Task
from tasks_app.operators import OPERATORS_GROUP
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-operator-passphrase-7"

ADMIN_LISTS = [
    "admin:tasks_app_task_changelist",
    "admin:tasks_app_profile_changelist",
    "admin:callbacks_app_delivery_changelist",
    "admin:callbacks_app_faileddelivery_changelist",
    "admin:django_q_success_changelist",
    "admin:django_q_failure_changelist",
    "admin:django_q_schedule_changelist",
    "admin:callbacks_app_emailconfirmation_changelist",
]


def create_staff(email, monkeypatch, *args):
    monkeypatch.setenv("OPERATOR_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command("create_account", email, "--staff", "--password-env", "OPERATOR_PASSWORD", *args, stdout=out)
    return out.getvalue()


def real_login(client, email, password=PASSWORD):
    """Log in through the admin's login form, as a person does."""
    response = client.post(
        reverse("admin:login"), {"username": email, "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/admin/"


def test_staff_account_logs_in_and_sees_the_dashboard_and_every_list(client, monkeypatch):
    create_staff("ops@example.com", monkeypatch)

    real_login(client, "ops@example.com")

    assert client.get(reverse("admin:dashboard")).status_code == 200
    for name in ADMIN_LISTS:
        assert client.get(reverse(name)).status_code == 200, name
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/tasks_app/task/" in index and "/admin/callbacks_app/delivery/" in index


def test_staff_account_runs_the_admin_actions(client, monkeypatch, account):
    create_staff("ops@example.com", monkeypatch)
    real_login(client, "ops@example.com")
    task = TaskFactory(owner=account.user)

    response = client.post(
        reverse("admin:tasks_app_task_complete", args=[task.id]), {"response": '{"category": "red"}'}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETED
    response = client.post(reverse("admin:tasks_app_task_recall", args=[task.id]))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == Task.Status.PENDING
    response = client.post(
        reverse("admin:tasks_app_task_changelist"),
        {"action": "recall_tasks", "_selected_action": [task.id]},
    )
    assert response.status_code == 302


def test_staff_account_key_uses_the_ops_api(api, monkeypatch, account):
    out = create_staff("ops@example.com", monkeypatch)
    key = re.search(r"Live API key:\s+(live_[0-9a-f]{32})", out).group(1)
    task = TaskFactory(owner=account.user)

    response = api.as_key(key).post(
        f"/v1/ops/task/{task.id}/complete", {"response": {"category": "red"}}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "completed"


@pytest.fixture
def staff_outside_the_group(db):
    account = account_create(email="staff@example.com")
    user = account.user
    user.is_staff = True
    user.set_password(PASSWORD)
    user.save()
    return account


def test_staff_user_outside_the_group_gets_404_on_ops(api, staff_outside_the_group, account):
    task = TaskFactory(owner=account.user)

    response = api.as_key(staff_outside_the_group.live_api_key).post(
        f"/v1/ops/task/{task.id}/complete", {"response": {"category": "red"}}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "error": "Not found."}
    task.refresh_from_db()
    assert task.status == Task.Status.PENDING


def test_staff_user_outside_the_group_gets_403_on_the_dashboard(client, staff_outside_the_group):
    real_login(client, "staff@example.com")

    assert client.get(reverse("admin:dashboard")).status_code == 403
    assert client.get(reverse("admin:tasks_app_task_changelist")).status_code == 403


def test_operators_group_exists_after_migrate_with_the_admin_permissions():
    group = Group.objects.get(name=OPERATORS_GROUP)
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))

    assert {
        ("tasks_app", "view_task"),
        ("tasks_app", "change_task"),
        ("callbacks_app", "view_delivery"),
        ("callbacks_app", "view_faileddelivery"),
        ("django_q", "view_failure"),
    } <= codenames
    assert not any(codename.startswith("delete_") for _, codename in codenames)


def test_create_account_has_no_password_argument(monkeypatch):
    with pytest.raises(CommandError, match="--password"):
        call_command(
            "create_account", "x@example.com", "--staff", "--password", "secret", stdout=io.StringIO()
        )
    assert not get_user_model().objects.filter(username="x@example.com").exists()


def test_create_account_refuses_a_password_env_variable_that_is_not_set(monkeypatch):
    monkeypatch.delenv("NO_SUCH_VARIABLE", raising=False)

    with pytest.raises(CommandError, match="NO_SUCH_VARIABLE"):
        call_command(
            "create_account",
            "x@example.com",
            "--staff",
            "--password-env",
            "NO_SUCH_VARIABLE",
            stdout=io.StringIO(),
        )
    assert not get_user_model().objects.filter(username="x@example.com").exists()


def test_create_account_prompts_for_the_password_on_a_terminal(monkeypatch, client):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("tasks_app.management.commands.create_account.getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    call_command("create_account", "ops@example.com", "--staff", stdout=io.StringIO())

    real_login(client, "ops@example.com")


def test_create_account_password_is_never_printed(monkeypatch):
    out = create_staff("ops@example.com", monkeypatch)

    assert PASSWORD not in out
    assert (
        get_user_model().objects.get(username="ops@example.com").groups.filter(name=OPERATORS_GROUP).exists()
    )
