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
    old_secret = profile.signing_secret
    new_secret = signing_secret_rotate(profile=profile)

    request = send_one_callback(profile, receiver)

    assert len(request.header("webhook-signature").split(" ")) == 2
    assert Webhook(old_secret).verify(request.body, request.headers)["status"] == "completed"
    assert Webhook(new_secret).verify(request.body, request.headers)["status"] == "completed"


def test_after_the_overlap_only_the_new_secret_signs(account, receiver):
    profile = account.profile
    old_secret = profile.signing_secret
    new_secret = signing_secret_rotate(profile=profile)
    profile.previous_signing_secret_expires_at = timezone.now() - timedelta(seconds=1)
    profile.save()

    request = send_one_callback(profile, receiver)

    assert len(request.header("webhook-signature").split(" ")) == 1
    assert Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(request.body, request.headers)


def test_rotation_keeps_the_previous_secret_for_24_hours(account):
    profile = account.profile
    before = timezone.now()

    signing_secret_rotate(profile=profile)

    profile.refresh_from_db()
    expires = profile.previous_signing_secret_expires_at
    assert before + timedelta(hours=24) <= expires <= timezone.now() + timedelta(hours=24)
