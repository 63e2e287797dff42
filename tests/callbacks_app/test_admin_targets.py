"""A callback target's page in the admin (SPEC §16): pause and resume it there, as an operator."""

import pytest
from django.urls import reverse

from callbacks_app.models import TargetHealth

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_target(account):
    return TargetHealth.objects.create(
        owner=account.user,
        mode="live",
        origin="https://hooks.example:443",
        state=TargetHealth.State.FAILING,
        consecutive_failures=25,
    )


def test_an_operator_pauses_a_target_from_its_page(operator_client, failing_target, operator_account):
    page = operator_client.get(reverse("admin:callbacks_app_targethealth_change", args=[failing_target.id]))

    assert page.status_code == 200
    html = page.content.decode()
    pause_url = reverse("admin:callbacks_app_targethealth_pause", args=[failing_target.id])
    assert f'action="{pause_url}"' in html
    assert 'id="action-resume"' not in html
    assert 'name="_save"' not in html  # nothing to save: the recording keeps the row

    answer = operator_client.post(pause_url, follow=True)

    failing_target.refresh_from_db()
    assert failing_target.state == TargetHealth.State.PAUSED
    assert failing_target.paused_by == f"operator {operator_account.user.username}"
    assert "Paused https://hooks.example:443" in answer.content.decode()
    assert 'id="action-resume"' in answer.content.decode()


def test_an_operator_resumes_a_paused_target_from_its_page(operator_client, failing_target):
    operator_client.post(reverse("admin:callbacks_app_targethealth_pause", args=[failing_target.id]))

    answer = operator_client.post(
        reverse("admin:callbacks_app_targethealth_resume", args=[failing_target.id]), follow=True
    )

    failing_target.refresh_from_db()
    assert failing_target.state == TargetHealth.State.FAILING  # its failures still count
    assert "Resumed https://hooks.example:443" in answer.content.decode()


def test_resuming_a_target_that_is_not_paused_says_so_and_changes_nothing(operator_client, failing_target):
    answer = operator_client.post(
        reverse("admin:callbacks_app_targethealth_resume", args=[failing_target.id]), follow=True
    )

    assert "This callback target is not paused." in answer.content.decode()
    failing_target.refresh_from_db()
    assert failing_target.state == TargetHealth.State.FAILING


def test_pausing_takes_a_post(operator_client, failing_target):
    answer = operator_client.get(reverse("admin:callbacks_app_targethealth_pause", args=[failing_target.id]))

    assert answer.status_code == 405
    failing_target.refresh_from_db()
    assert failing_target.state == TargetHealth.State.FAILING


def test_staff_without_the_change_permission_cannot_pause(client, django_user_model, failing_target):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("viewer@example.com", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_targethealth"))
    client.force_login(staff)

    page = client.get(reverse("admin:callbacks_app_targethealth_change", args=[failing_target.id]))
    answer = client.post(reverse("admin:callbacks_app_targethealth_pause", args=[failing_target.id]))

    assert page.status_code == 200
    assert "action-pause" not in page.content.decode()
    assert answer.status_code == 403
    failing_target.refresh_from_db()
    assert failing_target.state == TargetHealth.State.FAILING


def test_staff_without_the_change_permission_is_offered_no_pause_action(
    client, django_user_model, failing_target
):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("viewer@example.com", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_targethealth"))
    client.force_login(staff)
    changelist = reverse("admin:callbacks_app_targethealth_changelist")

    page = client.get(changelist).content.decode()
    client.post(changelist, {"action": "pause_targets", "_selected_action": [failing_target.id]})

    assert "pause_targets" not in page
    failing_target.refresh_from_db()
    assert failing_target.state == TargetHealth.State.FAILING
