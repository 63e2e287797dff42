"""No secret in stored attempts, in the callbacks API, or in the logs of a failing delivery (SPEC §8)."""

import json
import logging

import pytest

from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.accounts import signing_secret_rotate
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished, logged_text
from tests.factories import EmailConfirmationFactory, TaskFactory
from tests.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rotated_account(account):
    """An account in the middle of a signing-secret rotation: two secrets sign every callback."""
    profile, keys = account.profile, account.keys
    previous = profile.signing_secret
    signing_secret_rotate(profile=profile)
    profile.refresh_from_db()
    secrets = [
        profile.live_callback_auth_key,
        profile.test_callback_auth_key,
        profile.signing_secret,
        previous,
        keys.live_api_key,
        keys.test_api_key,
    ]
    secrets += [s.removeprefix("whsec_") for s in (profile.signing_secret, previous)]
    return profile, keys, secrets


def signatures_sent(receiver) -> list[str]:
    return [
        part.partition(",")[2]
        for request in receiver.requests
        for part in request.header("webhook-signature").split()
    ]


def stored_attempts_text() -> str:
    return json.dumps(
        list(DeliveryAttempt.objects.values()), default=str
    )


def test_failing_http_delivery_leaks_no_secret(rotated_account, receiver, settings, caplog, api):
    profile, keys, secrets = rotated_account
    caplog.set_level(logging.DEBUG)
    settings.CALLBACK_RETRY_SCHEDULE = [0.1, 0.1]
    # A receiver that echoes our credentials back in its error answer.
    receiver.answer(Answer(401, body=f"unknown key {profile.live_callback_auth_key}".encode()))
    task = TaskFactory(owner=profile.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})

    delivery = deliver_until_finished(Delivery.objects.get(task=task).id)
    api_text = api.as_key(keys.live_api_key).get(f"/v1/task/{task.id}/callbacks").content.decode()

    assert delivery.status == Delivery.Status.FAILED
    assert receiver.requests[0].header("scale-callback-auth") == profile.live_callback_auth_key
    assert f"Callback {delivery.id} attempt 3 to http: HTTP 401" in logged_text(caplog)
    leaked = secrets + signatures_sent(receiver)
    assert len(leaked) == 8 + 2 * 3  # two signatures per attempt: the rotation is on
    for secret in leaked:
        assert secret not in logged_text(caplog)
        assert secret not in stored_attempts_text()
        assert secret not in api_text


def test_failing_email_delivery_leaks_no_secret(rotated_account, smtp_server, settings, caplog, api):
    profile, keys, secrets = rotated_account
    caplog.set_level(logging.DEBUG)
    settings.CALLBACK_RETRY_SCHEDULE = [0.1]
    smtp_server.refuse("554 5.7.1 Rejected")
    EmailConfirmationFactory(owner=profile.user, address="results@customer.example")
    task = TaskFactory(owner=profile.user, callback_url="results@customer.example")
    task_complete(task_id=task.id, response={"category": "red"})

    delivery = deliver_until_finished(Delivery.objects.get(task=task).id)
    api_text = api.as_key(keys.live_api_key).get(f"/v1/task/{task.id}/callbacks").content.decode()

    assert delivery.status == Delivery.Status.FAILED
    assert "554" in logged_text(caplog)
    sent = [
        part.partition(",")[2]
        for received in smtp_server.received
        for part in received.message["webhook-signature"].split()
    ]
    for secret in secrets + sent:
        assert secret not in logged_text(caplog)
        assert secret not in stored_attempts_text()
        assert secret not in api_text
