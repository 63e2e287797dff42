"""The operators' admin for tasks and profiles: every action goes through a service."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from callbacks_app.models import Delivery
from tasks_app.keys import hash_api_key
from tasks_app.models import Profile, Task
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def task_url(task, action="change"):
    return reverse(f"admin:tasks_app_task_{action}", args=[task.id])


# --- Changelist and page ----------------------------------------------------------


@pytest.mark.django_db
def test_task_changelist_filters_by_status_and_mode(admin_client, account):
    live = TaskFactory(owner=account.user, is_test=False)
    test = TaskFactory(owner=account.user, is_test=True)

    response = admin_client.get(
        reverse("admin:tasks_app_task_changelist"), {"mode": "test", "status__exact": "pending"}
    )

    assert response.status_code == 200
    shown = {task.id for task in response.context["cl"].result_list}
    assert shown == {test.id} and live.id not in shown


@pytest.mark.django_db
def test_task_changelist_filters_by_audit_status(admin_client, account):
    TaskFactory(owner=account.user)
    rejected = TaskFactory(owner=account.user, customer_review_status="rejected")

    response = admin_client.get(reverse("admin:tasks_app_task_changelist"), {"audit": "rejected"})

    assert [task.id for task in response.context["cl"].result_list] == [rejected.id]


@pytest.mark.django_db
def test_task_changelist_searches_task_id_unique_id_and_callback_url(admin_client, account):
    by_id = TaskFactory(owner=account.user)
    by_unique = TaskFactory(owner=account.user, unique_id="order-77")
    by_url = TaskFactory(owner=account.user, callback_url="https://hooks.example.com/scale")
    url = reverse("admin:tasks_app_task_changelist")

    found = {
        query: {t.id for t in admin_client.get(url, {"q": query}).context["cl"].result_list}
        for query in (by_id.id, "order-77", "hooks.example.com")
    }

    assert found == {by_id.id: {by_id.id}, "order-77": {by_unique.id}, "hooks.example.com": {by_url.id}}


@pytest.mark.django_db
def test_task_page_shows_its_deliveries_and_the_operator_buttons(admin_client, completed_task):
    delivery = Delivery.objects.get(task=completed_task)

    response = admin_client.get(task_url(completed_task))

    html = response.content.decode()
    assert delivery.id in html
    assert task_url(completed_task, "resend") in html
    assert task_url(completed_task, "complete") in html


# --- Complete -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_admin_complete_completes_the_task_and_queues_its_callback(admin_client, pending_task):
    response = admin_client.post(task_url(pending_task, "complete"), {"response": '{"category": "blue"}'})

    assert response.status_code == 302
    pending_task.refresh_from_db()
    assert pending_task.status == Task.Status.COMPLETED
    assert pending_task.response == {"category": "blue"}
    assert Delivery.objects.get(task=pending_task).event == Delivery.Event.COMPLETED
    assert messages_of(response) == [
        ("success", f"Completed task {pending_task.id}; its callback is queued.")
    ]


@pytest.mark.django_db
def test_admin_complete_shows_a_response_invalid_for_the_type_on_the_form(admin_client, pending_task):
    response = admin_client.post(task_url(pending_task, "complete"), {"response": '{"category": "green"}'})

    assert response.status_code == 200
    assert "`category` must be one of" in str(response.context["form"].errors["response"])
    pending_task.refresh_from_db()
    assert pending_task.status == Task.Status.PENDING
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_admin_complete_refuses_malformed_json_on_the_form(admin_client, pending_task):
    response = admin_client.post(task_url(pending_task, "complete"), {"response": "{not json"})

    assert response.status_code == 200
    assert response.context["form"].errors["response"]
    pending_task.refresh_from_db()
    assert pending_task.status == Task.Status.PENDING


@pytest.mark.django_db
def test_admin_complete_of_a_completed_task_is_refused_and_changes_nothing(admin_client, completed_task):
    before = Task.objects.values().get(id=completed_task.id)

    response = admin_client.post(task_url(completed_task, "complete"), {"response": '{"category": "blue"}'})

    assert response.status_code == 302
    assert messages_of(response) == [
        ("error", f"Cannot complete task {completed_task.id}: it is completed (allowed only when pending).")
    ]
    assert Task.objects.values().get(id=completed_task.id) == before
    assert Delivery.objects.filter(task=completed_task).count() == 1


# --- Resend -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_admin_resend_button_delivers_a_new_callback_to_the_receiver(admin_client, completed_task, receiver):
    deliver_until_finished(Delivery.objects.get(task=completed_task).id)

    response = admin_client.post(task_url(completed_task, "resend"))

    assert response.status_code == 302
    resent = Delivery.objects.get(task=completed_task, event=Delivery.Event.RESENT)
    assert deliver_until_finished(resent.id).status == Delivery.Status.SUCCEEDED
    assert receiver.requests[-1].header("webhook-id") == resent.id
    assert receiver.requests[-1].header("scale-callback-event") == "task.resent"


@pytest.mark.django_db
def test_admin_resend_button_refuses_a_get(admin_client, completed_task):
    response = admin_client.get(task_url(completed_task, "resend"))

    assert response.status_code == 405
    assert Delivery.objects.filter(task=completed_task).count() == 1


@pytest.mark.django_db
def test_admin_resend_of_a_pending_task_is_refused_and_changes_nothing(admin_client, pending_task):
    response = admin_client.post(task_url(pending_task, "resend"))

    assert messages_of(response) == [
        (
            "error",
            f"Cannot resend the callback of task {pending_task.id}: it is pending "
            "(allowed only when completed or error).",
        )
    ]
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_admin_resend_without_a_target_is_refused(admin_client, account):
    task = TaskFactory(owner=account.user, callback_url="")
    task_complete(task_id=task.id, response={"category": "red"})

    response = admin_client.post(task_url(task, "resend"))

    assert messages_of(response)[0][0] == "error"
    assert "has no callback_url" in messages_of(response)[0][1]
    # Only the completion's event, kept for the feed (SPEC §17): nothing resent.
    assert list(Delivery.objects.values_list("status", flat=True)) == [Delivery.Status.NOT_SENT]


@pytest.mark.django_db
def test_bulk_resend_counts_what_was_queued_and_what_was_refused(
    admin_client, completed_task, pending_task, account
):
    other_completed = TaskFactory(owner=account.user, callback_url=completed_task.callback_url)
    task_complete(task_id=other_completed.id, response={"category": "blue"})
    selected = [completed_task.id, other_completed.id, TaskFactory(owner=account.user).id]

    response = admin_client.post(
        reverse("admin:tasks_app_task_changelist"),
        {"action": "resend_callbacks", "_selected_action": selected},
    )

    levels = messages_of(response)
    assert levels[0] == ("success", "Resent the callback of 2 tasks.")
    assert levels[1][0] == "error" and levels[1][1].startswith("Refused for 1 task: Cannot resend")
    assert Delivery.objects.filter(event=Delivery.Event.RESENT).count() == 2


# --- Profiles -----------------------------------------------------------------


@pytest.mark.django_db
def test_profile_page_shows_secrets_masked(admin_client, account):
    profile = account.profile

    html = admin_client.get(reverse("admin:tasks_app_profile_change", args=[profile.pk])).content.decode()

    for secret in (
        profile.live_signing_secret,
        profile.test_signing_secret,
        profile.live_callback_auth_key,
        profile.test_callback_auth_key,
    ):
        assert secret not in html
        assert secret[:9] + "…" in html
    assert account.live_api_key not in html
    assert profile.live_api_key_prefix + "…" in html


@pytest.mark.django_db
def test_profile_default_callback_url_is_validated(admin_client, account):
    profile = account.profile

    response = admin_client.post(
        reverse("admin:tasks_app_profile_change", args=[profile.pk]),
        {
            "live_default_callback_url": "http://169.254.169.254/latest",
            "test_default_callback_url": "",
            "allowed_networks": "",
        },
    )

    assert response.status_code == 200
    assert "not allowed" in str(response.context["adminform"].form.errors)
    profile.refresh_from_db()
    assert profile.live_default_callback_url == ""


@pytest.mark.django_db
def test_rotate_api_keys_action_shows_the_new_keys_once(admin_client, account):
    profile, old_keys = account.profile, account.keys
    response = admin_client.post(
        reverse("admin:tasks_app_profile_changelist"),
        {"action": "rotate_api_keys", "_selected_action": [profile.pk]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    ((_, new_keys),) = response.context["issued"]
    profile.refresh_from_db()
    assert (
        profile.live_api_key_hash
        == hash_api_key(new_keys.live_api_key)
        != hash_api_key(old_keys.live_api_key)
    )
    assert new_keys.live_api_key in response.content.decode()


@pytest.mark.django_db
def test_rotate_live_signing_secret_action_reports_the_count(admin_client, account, other_account):
    before = {p.pk: (p.live_signing_secret, p.test_signing_secret) for p in Profile.objects.all()}

    response = admin_client.post(
        reverse("admin:tasks_app_profile_changelist"),
        {"action": "rotate_live_signing_secret", "_selected_action": list(before)},
        follow=True,
    )

    assert (
        "success",
        "Rotated the live signing secret of 2 accounts; the previous secret keeps signing for 24 hours.",
    ) in [(m.level_tag, m.message) for m in response.context["messages"]]
    for profile in Profile.objects.all():
        live, test = before[profile.pk]
        assert profile.live_signing_secret != live
        assert profile.live_previous_signing_secret == live
        assert profile.test_signing_secret == test and profile.test_previous_signing_secret == ""


@pytest.mark.django_db
def test_rotate_live_callback_auth_key_action_leaves_the_test_key(admin_client, account):
    profile = account.profile
    live, test = profile.live_callback_auth_key, profile.test_callback_auth_key

    admin_client.post(
        reverse("admin:tasks_app_profile_changelist"),
        {"action": "rotate_live_callback_auth_key", "_selected_action": [profile.pk]},
    )

    profile.refresh_from_db()
    assert profile.live_callback_auth_key != live
    assert profile.test_callback_auth_key == test


# --- Mark error, fix, recall ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_admin_mark_error_fails_a_pending_task_with_the_message(admin_client, pending_task):
    response = admin_client.post(task_url(pending_task, "error"), {"error": "The image is unreadable."})

    assert response.status_code == 302
    pending_task.refresh_from_db()
    assert (pending_task.status, pending_task.response) == (
        Task.Status.ERROR,
        {"error": "The image is unreadable."},
    )
    assert Delivery.objects.get(task=pending_task).event == Delivery.Event.ERROR


@pytest.mark.django_db
def test_admin_mark_error_needs_a_message(admin_client, pending_task):
    response = admin_client.post(task_url(pending_task, "error"), {"error": "   "})

    assert response.status_code == 200
    assert response.context["form"].errors["error"]
    pending_task.refresh_from_db()
    assert pending_task.status == Task.Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_admin_fix_replaces_the_response_and_keeps_the_old_one(admin_client, completed_task):
    response = admin_client.post(task_url(completed_task, "fix"), {"response": '{"category": "blue"}'})

    assert response.status_code == 302
    completed_task.refresh_from_db()
    assert completed_task.response == {"category": "blue"}
    assert completed_task.prior_responses == [{"category": "red"}]
    assert Delivery.objects.filter(task=completed_task, event=Delivery.Event.AUDITED).count() == 1


@pytest.mark.django_db
def test_admin_fix_shows_a_response_invalid_for_the_type_on_the_form(admin_client, completed_task):
    response = admin_client.post(task_url(completed_task, "fix"), {"response": '{"category": "green"}'})

    assert response.status_code == 200
    assert "`category` must be one of" in str(response.context["form"].errors["response"])
    completed_task.refresh_from_db()
    assert completed_task.response == {"category": "red"}


@pytest.mark.django_db(transaction=True)
def test_admin_recall_takes_a_completed_task_back_to_pending(admin_client, completed_task):
    response = admin_client.post(task_url(completed_task, "recall"))

    assert response.status_code == 302
    completed_task.refresh_from_db()
    assert (completed_task.status, completed_task.completed_at) == (Task.Status.PENDING, None)
    assert Delivery.objects.filter(task=completed_task, event=Delivery.Event.RECALLED).count() == 1


@pytest.mark.django_db
def test_bulk_recall_counts_what_was_recalled_and_what_was_refused(admin_client, completed_task, account):
    pending_task = TaskFactory(owner=account.user)

    response = admin_client.post(
        reverse("admin:tasks_app_task_changelist"),
        {"action": "recall_tasks", "_selected_action": [completed_task.id, pending_task.id]},
    )

    assert [m[0] for m in messages_of(response)] == ["success", "error"]
    assert messages_of(response)[0][1] == "Recalled 1 task."
    assert f"Cannot recall task {pending_task.id}: it is pending" in messages_of(response)[1][1]
    assert Task.objects.filter(status=Task.Status.PENDING).count() == 2


ILLEGAL = [
    # (action, the task's state, form data): each is refused by the lifecycle service.
    ("complete", "completed", {"response": '{"category": "blue"}'}),
    ("error", "completed", {"error": "Too late."}),
    ("fix", "pending", {"response": '{"category": "blue"}'}),
    ("recall", "pending", {}),
    ("resend", "pending", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("action, state, data", ILLEGAL, ids=[a for a, _, _ in ILLEGAL])
def test_every_operator_action_refuses_an_illegal_change_and_changes_nothing(
    admin_client, request, action, state, data
):
    task = request.getfixturevalue(f"{state}_task")
    before = Task.objects.values().get(id=task.id)
    deliveries = Delivery.objects.count()

    response = admin_client.post(task_url(task, action), data, follow=True)

    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert len(shown) == 1 and shown[0][0] == "error"
    assert shown[0][1].startswith("Cannot ") and f"task {task.id}: it is {state}" in shown[0][1]
    assert Task.objects.values().get(id=task.id) == before
    assert Delivery.objects.count() == deliveries


@pytest.mark.django_db
def test_profile_allowed_networks_are_edited_one_a_line_and_open_the_default_url(
    admin_client, account, settings
):
    settings.CALLBACK_ALLOWED_NETWORKS = []
    profile = account.profile

    response = admin_client.post(
        reverse("admin:tasks_app_profile_change", args=[profile.pk]),
        {
            "live_default_callback_url": "http://10.1.2.3/hook",
            "test_default_callback_url": "",
            "allowed_networks": "10.1.2.3/8\n192.168.0.0/16, 10.0.0.0/8",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert profile.allowed_networks == ["10.0.0.0/8", "192.168.0.0/16"]
    assert profile.live_default_callback_url == "http://10.1.2.3/hook"


@pytest.mark.django_db
@pytest.mark.parametrize("networks", ["", "10.0.0.0/33", "not-a-network"])
def test_profile_private_default_url_needs_a_valid_allowance(admin_client, account, settings, networks):
    settings.CALLBACK_ALLOWED_NETWORKS = []
    profile = account.profile

    response = admin_client.post(
        reverse("admin:tasks_app_profile_change", args=[profile.pk]),
        {
            "live_default_callback_url": "http://10.1.2.3/hook",
            "test_default_callback_url": "",
            "allowed_networks": networks,
        },
    )

    assert response.status_code == 200
    profile.refresh_from_db()
    assert profile.live_default_callback_url == "" and profile.allowed_networks == []
