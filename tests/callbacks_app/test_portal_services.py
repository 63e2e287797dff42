"""The services behind the portal's actions (SPEC §14): a ``callback.test``, and the recovery
of every failed delivery of a window."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from callbacks_app.errors import NoCallbackTarget
from callbacks_app.models import Delivery, Recovery
from callbacks_app.recovery import deliveries_recover_count, deliveries_recover_run
from callbacks_app.services import callback_test_send
from tasks_app.models import Task
from tests.conftest import deliver_until_finished
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_test_callback_is_signed_and_shaped_as_a_task_callback(account, receiver):
    # given a test default callback URL
    profile = account.profile
    profile.test_default_callback_url = receiver.url
    profile.save()
    # when a test callback is sent
    delivery = callback_test_send(profile=profile, mode="test")
    finished = deliver_until_finished(delivery.id)
    # then it arrives signed with the test secret, with the test auth key, as a callback.test
    assert finished.status == Delivery.Status.SUCCEEDED
    assert (delivery.task_id, delivery.batch_id, delivery.is_test) == (None, None, True)
    (request,) = receiver.wait_for(1)
    assert request.header("scale-callback-event") == "callback.test"
    assert request.header("scale-callback-auth") == profile.test_callback_auth_key
    headers = {
        name: request.header(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    Webhook(profile.test_signing_secret).verify(request.body, headers)
    body = json.loads(request.body)
    assert set(body) == {"task_id", "status", "response", "task"}
    assert body["status"] == "completed" and body["task"]["is_test"] is True


def test_a_test_callback_needs_a_default_url(account):
    with pytest.raises(NoCallbackTarget):
        callback_test_send(profile=account.profile, mode="live")


def failed_delivery(owner, *, is_test=True, created_at=None):
    task = TaskFactory(owner=owner, is_test=is_test, status=Task.Status.COMPLETED, callback_url="")
    return DeliveryFactory(task=task, owner=owner, status="failed", created_at=created_at)


def test_the_count_is_of_the_windows_failed_tasks_of_this_side_only(account, other_account):
    now = timezone.now()
    first = failed_delivery(account.user)
    DeliveryFactory(task=first.task, owner=account.user, status="failed")  # the same task twice
    failed_delivery(account.user)
    failed_delivery(account.user, is_test=False)  # the live side
    failed_delivery(other_account.user)  # another account
    failed_delivery(account.user, created_at=now - timedelta(days=3))  # outside the window
    DeliveryFactory(task=first.task, owner=account.user, status="succeeded")
    plan = deliveries_recover_count(
        owner=account.user, is_test=True, since=now - timedelta(hours=1), until=now + timedelta(minutes=1)
    )
    assert (plan.failed, plan.total) == (3, 2)


def test_a_recovery_resends_each_task_and_counts_its_progress(account, receiver):
    account.profile.test_default_callback_url = receiver.url
    account.profile.save()
    now = timezone.now()
    failed = [failed_delivery(account.user) for _ in range(3)]
    recovery = Recovery.objects.create(
        owner=account.user, is_test=True, since=now - timedelta(hours=1), until=now + timedelta(minutes=1)
    )
    finished = deliveries_recover_run(recovery_id=recovery.id)
    assert (finished.status, finished.total, finished.done, finished.resent, finished.skipped) == (
        "finished",
        3,
        3,
        3,
        0,
    )
    resent = Delivery.objects.filter(event=Delivery.Event.RESENT)
    assert sorted(resent.values_list("task_id", flat=True)) == sorted(d.task_id for d in failed)
    assert finished.percent == 100


def test_the_admin_shows_a_test_callback_and_refuses_to_resend_it(account, admin_client):
    account.profile.test_default_callback_url = "http://127.0.0.1:9/hook"
    account.profile.save()
    delivery = callback_test_send(profile=account.profile, mode="test")
    listed = admin_client.get("/admin/callbacks_app/delivery/")
    assert listed.status_code == 200
    assert "test callback" in listed.content.decode()
    assert admin_client.get(f"/admin/callbacks_app/delivery/{delivery.id}/change/").status_code == 200
    answer = admin_client.post(f"/admin/callbacks_app/delivery/{delivery.id}/resend/", follow=True)
    assert "no task or batch to resend" in answer.content.decode()
    assert Delivery.objects.count() == 1
