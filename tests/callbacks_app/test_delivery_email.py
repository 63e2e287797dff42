"""Email callback targets, sent to a real SMTP server on 127.0.0.1 (SPEC §6.6)."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from callbacks_app.engine import callback_deliver
from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import EmailConfirmationFactory, TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _addresses_confirmed(account):
    """The addresses these tests send to are confirmed (tests/callbacks_app/test_confirmations.py
    tests what happens before)."""
    for address in ("results@customer.example", "ops@customer.example", "inbox@customer.example"):
        EmailConfirmationFactory(owner=account.user, address=address)


@pytest.fixture
def email_task(account):
    profile = account.profile
    return TaskFactory(owner=profile.user, callback_url="results@customer.example")


def complete(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


def test_email_callback_reaches_the_smtp_server_with_from_subject_message_id_and_json_body(
    email_task, smtp_server, settings
):
    settings.CALLBACK_EMAIL_FROM = "ScaleHooks <callbacks@hooks.example>"
    delivery = complete(email_task)

    delivery = deliver_until_finished(delivery.id)

    (received,) = smtp_server.messages
    message = received.message
    assert received.rcpt_tos == ["results@customer.example"]
    assert message["From"] == "ScaleHooks <callbacks@hooks.example>"
    assert message["Subject"] == f"Task {email_task.id} completed"
    assert message["Message-ID"] == f"<{delivery.id}@hooks.example>"
    assert json.loads(received.body) == json.loads(delivery.payload)
    assert received.body.strip() == delivery.payload
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.target_kind == Delivery.TargetKind.EMAIL
    email_task.refresh_from_db()
    assert email_task.callback_succeeded is True


def test_email_callback_is_signed_and_carries_no_callback_auth_key(email_task, smtp_server, account):
    profile = account.profile
    delivery = complete(email_task)

    deliver_until_finished(delivery.id)

    message = smtp_server.messages[0].message
    assert message["scale-callback-auth"] is None
    headers = {name: message[name] for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    assert Webhook(profile.live_signing_secret).verify(smtp_server.messages[0].body.strip(), headers)


def test_mailto_url_is_an_email_target(account, smtp_server):
    task = TaskFactory(owner=account.user, callback_url="mailto:ops@customer.example")
    delivery = complete(task)

    deliver_until_finished(delivery.id)

    assert smtp_server.messages[0].rcpt_tos == ["ops@customer.example"]


def test_default_callback_url_as_an_email_address_sends_an_email(account, smtp_server):
    profile = account.profile
    profile.live_default_callback_url = "inbox@customer.example"
    profile.save()
    task = TaskFactory(owner=profile.user, callback_url="")
    delivery = complete(task)

    deliver_until_finished(delivery.id)

    assert delivery.target_kind == Delivery.TargetKind.EMAIL
    assert smtp_server.messages[0].rcpt_tos == ["inbox@customer.example"]


def test_refused_email_is_retried_on_the_schedule_and_ends_callback_succeeded_false(
    email_task, smtp_server, settings
):
    settings.CALLBACK_RETRY_SCHEDULE = [0.1, 0.1, 0.1]
    smtp_server.refuse("550 5.7.1 Mailbox unavailable")
    delivery = complete(email_task)

    delivery = deliver_until_finished(delivery.id)

    assert delivery.status == Delivery.Status.FAILED
    assert len(smtp_server.received) == 4
    assert not smtp_server.messages
    attempts = list(delivery.attempts.all())
    assert [a.number for a in attempts] == [1, 2, 3, 4]
    assert all("550" in a.error and not a.succeeded for a in attempts)
    email_task.refresh_from_db()
    assert email_task.callback_succeeded is False


def test_refused_then_accepted_email_succeeds_on_the_retry(email_task, smtp_server, settings):
    settings.CALLBACK_RETRY_SCHEDULE = [0.1, 0.1]
    smtp_server.refuse("451 4.3.0 Try again later")
    delivery = complete(email_task)
    callback_deliver(delivery_id=delivery.id)
    smtp_server.accept()
    delivery = deliver_until_finished(delivery.id)

    assert [a.succeeded for a in delivery.attempts.all()] == [False, True]
    email_task.refresh_from_db()
    assert email_task.callback_succeeded is True


def test_unreachable_smtp_server_is_a_failed_attempt(email_task, smtp_server, settings):
    settings.CALLBACK_RETRY_SCHEDULE = []
    settings.EMAIL_PORT = 9  # discard: nothing listens
    delivery = complete(email_task)

    delivery = deliver_until_finished(delivery.id)

    attempt = delivery.attempts.get()
    assert delivery.status == Delivery.Status.FAILED
    assert attempt.status_code is None
    assert "Email not accepted" in attempt.error


def test_stored_email_attempt_records_the_email_headers(email_task, smtp_server):
    delivery = complete(email_task)

    delivery = deliver_until_finished(delivery.id)

    headers = delivery.attempts.get().request_headers
    assert headers["To"] == "results@customer.example"
    assert headers["Subject"] == f"Task {email_task.id} completed"
    assert headers["webhook-signature"] == "***"
    assert "scale-callback-auth" not in headers
