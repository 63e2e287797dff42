"""The delivery ledger in the admin: read-only, attempts inline, resend from a delivery."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.utils import quote
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import DeliveryAttemptFactory, DeliveryFactory, TaskFactory
from tests.servers import Answer


@pytest.fixture
def delivery_failed_twice(account, receiver, settings):
    """The callback of a completed task, failed for good: two 500s (one retry)."""
    settings.CALLBACK_RETRY_SCHEDULE = [0.05]
    receiver.answer(Answer(500, b"upstream exploded"))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    return deliver_until_finished(Delivery.objects.get(task=task).id)


@pytest.mark.django_db
def test_delivery_page_lists_attempts_with_status_error_duration_and_excerpt(admin_client):
    delivery = DeliveryFactory(status=Delivery.Status.FAILED, attempt_count=2)
    DeliveryAttemptFactory(
        delivery=delivery,
        number=1,
        status_code=None,
        error="Connection refused",
        duration_ms=3,
        succeeded=False,
    )
    DeliveryAttemptFactory(
        delivery=delivery,
        number=2,
        status_code=503,
        response_excerpt="try later",
        duration_ms=41,
        succeeded=False,
    )

    html = admin_client.get(
        reverse("admin:callbacks_app_delivery_change", args=[delivery.id])
    ).content.decode()

    assert "Connection refused" in html
    assert "HTTP 503" in html
    assert "41 ms" in html
    assert "try later" in html


@pytest.mark.django_db
def test_delivery_attempt_headers_are_shown_as_stored_masked(admin_client):
    attempt = DeliveryAttemptFactory(request_headers={"scale-callback-auth": "***", "webhook-id": "msg_1"})

    html = admin_client.get(
        reverse("admin:callbacks_app_delivery_change", args=[attempt.delivery_id])
    ).content.decode()

    assert "&quot;scale-callback-auth&quot;: &quot;***&quot;" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, url_name, args",
    [
        ("get", "admin:callbacks_app_delivery_add", []),
        ("post", "admin:callbacks_app_delivery_change", ["DELIVERY"]),
        ("post", "admin:callbacks_app_delivery_delete", ["DELIVERY"]),
    ],
)
def test_deliveries_cannot_be_added_changed_or_deleted(admin_client, method, url_name, args):
    delivery = DeliveryFactory(status=Delivery.Status.FAILED)
    url = reverse(url_name, args=[delivery.id if a == "DELIVERY" else a for a in args])

    response = getattr(admin_client, method)(url, {"status": "succeeded", "post": "yes"})

    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


@pytest.mark.django_db
def test_failed_deliveries_changelist_shows_only_failed_ones(admin_client):
    failed = DeliveryFactory(status=Delivery.Status.FAILED)
    DeliveryFactory(status=Delivery.Status.SUCCEEDED)
    DeliveryFactory(status=Delivery.Status.PENDING)

    response = admin_client.get(reverse("admin:callbacks_app_faileddelivery_changelist"))

    assert [d.id for d in response.context["cl"].result_list] == [failed.id]


@pytest.mark.django_db
def test_delivery_changelist_does_not_load_payloads(admin_client):
    DeliveryFactory.create_batch(3)

    response = admin_client.get(reverse("admin:callbacks_app_delivery_changelist"))

    listed = response.context["cl"].result_list
    assert len(listed) == 3
    assert all("payload" in d.get_deferred_fields() for d in listed)


@pytest.mark.django_db(transaction=True)
def test_resend_from_a_failed_delivery_reaches_the_receiver(admin_client, delivery_failed_twice, receiver):
    assert delivery_failed_twice.status == Delivery.Status.FAILED
    assert delivery_failed_twice.attempts.count() == 2
    receiver.answer(Answer(200))

    # The URL as the page's button has it: the admin quotes the id ("_" → "_5F").
    response = admin_client.post(
        reverse("admin:callbacks_app_faileddelivery_resend", args=[quote(delivery_failed_twice.id)])
    )

    new = Delivery.objects.exclude(id=delivery_failed_twice.id).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:callbacks_app_delivery_change", args=[quote(new.id)])
    assert deliver_until_finished(new.id).status == Delivery.Status.SUCCEEDED
    assert receiver.requests[-1].header("webhook-id") == new.id


@pytest.mark.django_db
def test_resend_from_a_delivery_of_a_canceled_task_is_refused(admin_client):
    delivery = DeliveryFactory(task=TaskFactory(status="canceled"), status=Delivery.Status.FAILED)

    response = admin_client.post(reverse("admin:callbacks_app_delivery_resend", args=[delivery.id]))

    assert response.status_code == 302
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_bulk_resend_of_failed_deliveries_sends_each_task_once(admin_client, account):
    task = TaskFactory(owner=account.user, status="completed", callback_url="http://127.0.0.1:9/x")
    first = DeliveryFactory(task=task, status=Delivery.Status.FAILED)
    second = DeliveryFactory(task=task, status=Delivery.Status.FAILED)

    response = admin_client.post(
        reverse("admin:callbacks_app_faileddelivery_changelist"),
        {"action": "resend_callbacks", "_selected_action": [first.id, second.id]},
    )

    assert [m.message for m in get_messages(response.wsgi_request)] == ["Resent the callback of 1 task."]
    assert Delivery.objects.filter(task=task, event=Delivery.Event.RESENT).count() == 1


@pytest.mark.django_db
def test_staff_without_task_permission_gets_no_resend(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    delivery = DeliveryFactory(status=Delivery.Status.FAILED)

    page = client.get(reverse("admin:callbacks_app_delivery_change", args=[delivery.id]))
    resend = client.post(reverse("admin:callbacks_app_delivery_resend", args=[delivery.id]))

    assert page.status_code == 200 and "action-resend" not in page.content.decode()
    assert resend.status_code == 403
    assert Delivery.objects.count() == 1


def test_times_show_seconds_and_the_zone_so_attempts_seconds_apart_look_apart(admin_client):
    # Given three attempts ten and thirty seconds apart, the last a minute after the first.
    first = datetime(2026, 1, 2, 12, 0, 1, tzinfo=UTC)
    delivery = DeliveryFactory(status="failed", created_at=first, finished_at=first + timedelta(seconds=41))
    for number, after in enumerate((0, 10, 40), start=1):
        DeliveryAttemptFactory(
            delivery=delivery, number=number, started_at=first + timedelta(seconds=after), status_code=500
        )

    page = admin_client.get(reverse("admin:callbacks_app_delivery_change", args=[quote(delivery.id)]))
    listed = admin_client.get(reverse("admin:callbacks_app_delivery_changelist"))

    html = page.content.decode()
    for shown in ("2026-01-02 12:00:01 UTC", "2026-01-02 12:00:11 UTC", "2026-01-02 12:00:41 UTC"):
        assert shown in html
    assert "2026-01-02 12:00:01 UTC" in listed.content.decode()  # created, in the list too


def test_the_payload_is_shown_as_the_frozen_bytes_every_attempt_sends(admin_client):
    payload = '{"task_id":"t1","status":"completed","response":{"z":1,"a":2},"task":{"id":"t1"}}'
    delivery = DeliveryFactory(status="succeeded", payload=payload)

    html = admin_client.get(
        reverse("admin:callbacks_app_delivery_change", args=[quote(delivery.id)])
    ).content.decode()

    shown = html.replace("&quot;", '"')
    assert payload in shown  # the bytes as sent: key order and spacing kept
    assert f"{len(payload.encode())} bytes" in html


def test_the_list_marks_a_retrying_delivery_with_its_attempts_and_last_error(admin_client):
    delivery = DeliveryFactory(status="pending", attempt_count=3, next_attempt_at=timezone.now())
    for number in (1, 2, 3):
        DeliveryAttemptFactory(
            delivery=delivery,
            number=number,
            status_code=503,
            succeeded=False,
            error=f"HTTP 503 (try {number})",
        )

    html = admin_client.get(reverse("admin:callbacks_app_delivery_changelist")).content.decode()

    row = html.split(f"{delivery.id}</a>")[1].split("</tr>")[0]
    assert "retrying after 3 failed attempts" in row
    assert "HTTP 503 (try 3)" in row


def test_the_list_filters_by_account_and_mode(admin_client, account, other_account):
    mine_live = DeliveryFactory(task=TaskFactory(owner=account.user, is_test=False))
    mine_test = DeliveryFactory(task=TaskFactory(owner=account.user, is_test=True))
    DeliveryFactory(task=TaskFactory(owner=other_account.user, is_test=False))
    changelist = reverse("admin:callbacks_app_delivery_changelist")

    by_account = admin_client.get(changelist, {"account": account.user.id})
    by_both = admin_client.get(changelist, {"account": account.user.id, "mode": "test"})

    assert {d.id for d in by_account.context["cl"].result_list} == {mine_live.id, mine_test.id}
    assert [d.id for d in by_both.context["cl"].result_list] == [mine_test.id]
    assert account.user.email in by_account.content.decode()  # the filter names the accounts
