"""Signing-secret rotation: both signatures during the 24 h overlap (SPEC §3, §6.3)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from callbacks_app.models import Delivery
from tasks_app.accounts import signing_secret_rotate
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)


def send_one_callback(profile, receiver):
    task = TaskFactory(owner=profile.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    deliver_until_finished(Delivery.objects.get(task=task).id)
    return receiver.requests[-1]


def test_during_rotation_receivers_with_the_old_or_the_new_secret_both_verify(account, receiver):
    profile = account.profile
    old_secret = profile.live_signing_secret
    new_secret = signing_secret_rotate(profile=profile, mode="live")

    request = send_one_callback(profile, receiver)

    assert len(request.header("webhook-signature").split(" ")) == 2
    assert Webhook(old_secret).verify(request.body, request.headers)["status"] == "completed"
    assert Webhook(new_secret).verify(request.body, request.headers)["status"] == "completed"


def test_after_the_overlap_only_the_new_secret_signs(account, receiver):
    profile = account.profile
    old_secret = profile.live_signing_secret
    new_secret = signing_secret_rotate(profile=profile, mode="live")
    profile.live_previous_signing_secret_expires_at = timezone.now() - timedelta(seconds=1)
    profile.save()

    request = send_one_callback(profile, receiver)

    assert len(request.header("webhook-signature").split(" ")) == 1
    assert Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)


def test_rotation_keeps_the_previous_secret_for_24_hours(account):
    profile = account.profile
    before = timezone.now()

    signing_secret_rotate(profile=profile, mode="live")

    profile.refresh_from_db()
    expires = profile.live_previous_signing_secret_expires_at
    assert before + timedelta(hours=24) <= expires <= timezone.now() + timedelta(hours=24)


def send_one_test_callback(profile, receiver):
    task = TaskFactory(owner=profile.user, callback_url=receiver.url, is_test=True)
    task_complete(task_id=task.id, response={"category": "red"})
    deliver_until_finished(Delivery.objects.get(task=task).id)
    return receiver.requests[-1]


def test_rotating_the_test_secret_overlaps_test_callbacks_only(account, receiver):
    profile = account.profile
    live_secret, old_test_secret = profile.live_signing_secret, profile.test_signing_secret
    new_test_secret = signing_secret_rotate(profile=profile, mode="test")

    live_request = send_one_callback(profile, receiver)
    test_request = send_one_test_callback(profile, receiver)

    assert profile.live_signing_secret == live_secret and profile.live_previous_signing_secret == ""
    assert len(live_request.header("webhook-signature").split(" ")) == 1
    assert Webhook(live_secret).verify(live_request.body, live_request.headers)
    assert len(test_request.header("webhook-signature").split(" ")) == 2
    assert Webhook(old_test_secret).verify(test_request.body, test_request.headers)
    assert Webhook(new_test_secret).verify(test_request.body, test_request.headers)
    for secret in (old_test_secret, new_test_secret):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(live_request.body, live_request.headers)
