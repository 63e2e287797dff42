"""Email targets are confirmed before anything is sent to them (issue 16 point 6, SPEC §6.6).

The first callback of an account to an address sends a confirmation email
with a one-time link (nothing else); its deliveries wait without spending
attempts; following the link (GET shows a page, POST confirms) releases them;
an address never confirmed fails its deliveries once the 24 h window closes.
"""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app import confirmations
from callbacks_app.engine import callback_deliver
from callbacks_app.models import Delivery, EmailConfirmation
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("links_to_the_test_client")]

LINK_RE = re.compile(r"http://testserver(/callbacks/confirm/[A-Za-z0-9_-]+)")


def email_task(account, target="results@customer.example"):
    return TaskFactory(owner=account.user, callback_url=target)


def complete(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.filter(task=task).latest("created_at")


def send_confirmation(account, address="results@customer.example") -> str:
    """Run the confirmation job in this process; the link path of the email it sent."""
    confirmation = EmailConfirmation.objects.get(owner=account.user, address=address)
    assert confirmations.email_confirmation_send(confirmation_id=confirmation.id)
    return confirmation


def link_in(message) -> str:
    return LINK_RE.search(message.body).group(1)


@pytest.mark.cluster
def test_first_email_callback_sends_a_confirmation_email_and_nothing_else(
    start_cluster, account, smtp_server
):
    start_cluster(
        EMAIL_URL=f"smtp://{smtp_server.host}:{smtp_server.port}", PUBLIC_BASE_URL="http://testserver"
    )
    delivery = complete(email_task(account))

    (message,) = smtp_server.wait_for(1, timeout=15)
    assert message.rcpt_tos == ["results@customer.example"]
    assert "Confirm" in message.message["Subject"]
    assert LINK_RE.search(message.body)
    assert delivery.payload not in message.body
    # the delivery is held by the engine: claimed, its attempt given back, not sent
    wait_until(
        lambda: Delivery.objects.get(id=delivery.id).first_attempt_at is not None,
        timeout=10,
        message="the engine never looked at the delivery",
    )
    time.sleep(1)  # room for a wrong second email to arrive
    assert len(smtp_server.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempt_count == 0
    assert not delivery.attempts.exists()


@pytest.mark.cluster
def test_following_the_link_releases_the_waiting_delivery_with_its_retries_unspent(
    start_cluster, account, smtp_server, client
):
    start_cluster(
        EMAIL_URL=f"smtp://{smtp_server.host}:{smtp_server.port}", PUBLIC_BASE_URL="http://testserver"
    )
    delivery = complete(email_task(account))
    (confirmation_email,) = smtp_server.wait_for(1, timeout=15)
    link = link_in(confirmation_email)
    wait_until(
        lambda: Delivery.objects.get(id=delivery.id).first_attempt_at is not None,
        timeout=10,
        message="the engine never looked at the delivery",
    )

    page = client.get(link)  # what a mail scanner does: it must confirm nothing
    assert page.status_code == 200
    assert "results@customer.example" in page.content.decode()
    assert '<form method="post">' in page.content.decode()
    assert not EmailConfirmation.objects.get(owner=account.user).is_confirmed

    confirmed = client.post(link)

    assert confirmed.status_code == 200
    assert "Address confirmed" in confirmed.content.decode()
    _, callback_email = smtp_server.wait_for(2, timeout=15)
    assert callback_email.rcpt_tos == ["results@customer.example"]
    assert callback_email.body.strip() == delivery.payload
    delivery = wait_until(
        lambda: (d := Delivery.objects.get(id=delivery.id)).status == Delivery.Status.SUCCEEDED and d,
        timeout=10,
        message="the released delivery did not succeed",
    )
    assert delivery.attempt_count == 1
    assert [a.number for a in delivery.attempts.all()] == [1]


def test_the_link_works_once(account, smtp_server, client):
    complete(email_task(account))
    send_confirmation(account)
    link = link_in(smtp_server.messages[0])

    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 404
    assert client.get(link).status_code == 404


def test_a_made_up_or_expired_link_is_refused(account, smtp_server, client):
    complete(email_task(account))
    send_confirmation(account)
    link = link_in(smtp_server.messages[0])
    EmailConfirmation.objects.update(sent_at=timezone.now() - confirmations.CONFIRMATION_LINK_VALID)

    assert client.get("/callbacks/confirm/not-a-token").status_code == 404
    assert client.post(link).status_code == 404
    assert not EmailConfirmation.objects.get().is_confirmed


def test_unconfirmed_address_fails_with_a_clear_error_once_the_window_closes(account, smtp_server):
    delivery = complete(email_task(account))
    callback_deliver(delivery_id=delivery.id)  # held: its attempt given back
    delivery.refresh_from_db()
    assert delivery.attempt_count == 0 and delivery.status == Delivery.Status.PENDING
    Delivery.objects.filter(id=delivery.id).update(
        first_attempt_at=timezone.now() - timedelta(hours=25), next_attempt_at=timezone.now()
    )

    callback_deliver(delivery_id=delivery.id)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    (attempt,) = delivery.attempts.all()
    assert "never confirmed" in attempt.error and "results@customer.example" in attempt.error
    assert not smtp_server.received  # neither the callback nor (in this process) a confirmation
    delivery.task.refresh_from_db()
    assert delivery.task.callback_succeeded is False


def test_a_confirmed_address_gets_its_callbacks_at_once(account, smtp_server, client):
    complete(email_task(account))
    send_confirmation(account)
    client.post(link_in(smtp_server.messages[0]))

    delivery = deliver_until_finished(complete(email_task(account)).id)

    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempt_count == 1
    assert EmailConfirmation.objects.count() == 1


def test_confirmation_is_per_account(account, other_account, smtp_server, client):
    complete(email_task(account))
    send_confirmation(account)
    client.post(link_in(smtp_server.messages[0]))

    delivery = complete(email_task(other_account))
    callback_deliver(delivery_id=delivery.id)

    delivery.refresh_from_db()
    assert delivery.attempt_count == 0 and delivery.status == Delivery.Status.PENDING
    assert len(smtp_server.received) == 1


def test_one_confirmation_email_for_many_callbacks_to_one_address(account, monkeypatch):
    asked = []
    monkeypatch.setattr(confirmations, "_ask_for_email", asked.append)

    for _ in range(5):
        complete(email_task(account))
        complete(email_task(account, "MAILTO:Results@Customer.example"))

    confirmation = EmailConfirmation.objects.get()
    assert asked == [confirmation.id]
    assert confirmation.address == "results@customer.example"


def test_emails_per_account_per_hour_are_limited(account, smtp_server, client, settings):
    settings.CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR = 3
    complete(email_task(account))
    send_confirmation(account)  # email 1 of the hour
    client.post(link_in(smtp_server.messages[0]))
    deliveries = [complete(email_task(account)) for _ in range(4)]

    for delivery in deliveries:
        callback_deliver(delivery_id=delivery.id)

    assert len(smtp_server.received) == 3
    states = [Delivery.objects.get(id=d.id) for d in deliveries]
    held = [d for d in states if d.status == Delivery.Status.PENDING]
    assert len(held) == 2 and all(d.attempt_count == 0 for d in held)
