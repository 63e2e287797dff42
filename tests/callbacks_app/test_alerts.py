"""Operators' webhooks (SPEC §16): each alert once to every ``OPS_WEBHOOK_URLS`` URL, through the ledger,
signed in Standard Webhooks format with ``OPS_WEBHOOK_SECRET``."""

import base64
import collections
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_q.brokers import get_broker
from standardwebhooks.webhooks import Webhook

from callbacks_app.alerts import alerts_fan_out_pending
from callbacks_app.figures import account_delivery_figures
from callbacks_app.models import Delivery, TargetAlert
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.portal_app.conftest import signed_in
from tests.servers import Answer, CallbackReceiver
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]

OPS_SECRET = "whsec_" + base64.b64encode(b"operators-secret-0123456789abcdef").decode()


@pytest.fixture
def ops_receiver(settings):
    server = CallbackReceiver()
    settings.OPS_WEBHOOK_URLS = [server.url]
    settings.OPS_WEBHOOK_SECRET = OPS_SECRET
    yield server
    server.close()


def fail_then_recover(account, receiver) -> None:
    receiver.answer(Answer(500, b"down"))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    deliver_until_finished(Delivery.objects.get(task=task).id)
    receiver.answer(Answer(200))
    task = TaskFactory(owner=account.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    deliver_until_finished(Delivery.objects.get(task=task).id)


def deliver_ops_alerts() -> list[Delivery]:
    alerts_fan_out_pending()
    alerts_fan_out_pending()  # a second fan-out (another job, another cluster) sends nothing more
    deliveries = list(Delivery.objects.filter(event="ops.alert"))
    for delivery in deliveries:
        deliver_until_finished(delivery.id)
    return deliveries


def test_the_operators_receiver_gets_each_alert_once_signed_with_the_ops_secret(
    account, receiver, ops_receiver, smtp_server
):
    fail_then_recover(account, receiver)

    deliveries = deliver_ops_alerts()

    kinds = collections.Counter(r.json()["type"] for r in ops_receiver.requests)
    assert kinds == {"target.failing": 1, "delivery.exhausted": 1, "target.recovered": 1}
    assert len(deliveries) == TargetAlert.objects.count() == 3
    for request in ops_receiver.requests:
        body = Webhook(OPS_SECRET).verify(request.body, request.headers)
        assert body["data"]["origin"] == f"http://127.0.0.1:{receiver.port}"
        assert body["data"]["account"] == "customer@example.com"
        assert request.header("webhook-id") in {d.id for d in deliveries}


def test_an_operators_webhook_carries_none_of_the_accounts_secrets(
    account, receiver, ops_receiver, smtp_server
):
    profile = account.profile
    fail_then_recover(account, receiver)

    deliver_ops_alerts()

    assert ops_receiver.requests
    for request in ops_receiver.requests:
        assert request.header("scale-callback-auth") is None
        sent = request.body.decode() + repr(request.headers)
        for secret in (
            profile.live_callback_auth_key,
            profile.live_signing_secret,
            profile.test_signing_secret,
        ):
            assert secret not in sent
        with pytest.raises(Exception):  # noqa: B017 - not signed with the account's secret
            Webhook(profile.live_signing_secret).verify(request.body, request.headers)


def test_an_operators_webhook_is_retried_like_any_delivery(account, receiver, ops_receiver, smtp_server):
    ops_receiver.answer(Answer(503), Answer(200))
    fail_then_recover(account, receiver)

    deliveries = deliver_ops_alerts()

    assert {d.status for d in Delivery.objects.filter(event="ops.alert")} == {"succeeded"}
    assert len(ops_receiver.requests) == len(deliveries) + 1  # the first answer was a 503
    assert Delivery.objects.filter(event="ops.alert", attempt_count=2).count() == 1


def test_operators_alerts_do_not_count_in_the_health_of_the_account(
    account, receiver, ops_receiver, smtp_server
):
    ops_receiver.answer(Answer(500))
    fail_then_recover(account, receiver)

    deliver_ops_alerts()

    origins = set(account.user.target_health.values_list("origin", flat=True))
    assert origins == {f"http://127.0.0.1:{receiver.port}"}


def test_an_operators_alert_belongs_to_no_account(account, receiver, ops_receiver, smtp_server, client):
    """SPEC §6.1: the operators' webhooks go through the same sender but belong to no account: the
    account's portal neither lists them nor counts them, nor does any other account's."""
    fail_then_recover(account, receiver)
    deliveries = deliver_ops_alerts()
    portal = signed_in(client, user=account.user, account=account.profile, mode="live")

    listing = portal.get("/portal/callbacks").content.decode()
    pages = [portal.get(f"/portal/callbacks/{d.id}").status_code for d in deliveries]
    counted = account_delivery_figures(
        owner=account.user, is_test=False, since=timezone.now() - timedelta(hours=1)
    )

    assert ops_receiver.url not in listing
    assert "ops.alert" not in listing
    assert pages == [404] * len(deliveries)
    assert counted.total == 2  # the account's two task callbacks, not the operators' alerts
    assert {d.owner_id for d in Delivery.objects.filter(event="ops.alert")} == {None}


@pytest.mark.cluster
def test_an_alert_whose_fan_out_job_was_lost_is_sent_by_a_cluster_all_the_same(
    start_cluster, account, receiver, smtp_server
):
    fail_then_recover(account, receiver)
    get_broker().purge_queue()  # the fan-out jobs were lost (a crash after the commit, the broker)
    TargetAlert.objects.update(created_at=timezone.now() - timedelta(minutes=1))

    start_cluster(EMAIL_URL=f"smtp://{smtp_server.host}:{smtp_server.port}")  # its dispatchers find them

    smtp_server.wait_for(3, timeout=30)
    wait_until(  # marked once its email is sent
        lambda: not TargetAlert.objects.filter(fanned_out_at__isnull=True).exists(),
        30,
        "an alert was not marked fanned out",
    )


@pytest.mark.cluster
def test_a_cluster_sends_the_operators_alerts_of_no_account_signed_with_the_ops_secret(
    start_cluster, account, receiver, ops_receiver, smtp_server
):
    """A dispatcher (not the foreground loop) sends a delivery that has no account."""
    fail_then_recover(account, receiver)  # the fan-out jobs are queued for the cluster

    start_cluster(
        EMAIL_URL=f"smtp://{smtp_server.host}:{smtp_server.port}",
        OPS_WEBHOOK_URLS=ops_receiver.url,
        OPS_WEBHOOK_SECRET=OPS_SECRET,
    )

    requests = ops_receiver.wait_for(3, timeout=30)
    kinds = collections.Counter(Webhook(OPS_SECRET).verify(r.body, r.headers)["type"] for r in requests)
    assert kinds == {"target.failing": 1, "delivery.exhausted": 1, "target.recovered": 1}
    assert {d.owner_id for d in Delivery.objects.filter(event="ops.alert")} == {None}


def test_the_admin_lists_an_operators_alert_and_refuses_to_resend_it(account, admin_client):
    ops = Delivery.objects.create(
        owner=None,
        event="ops.alert",
        target="http://127.0.0.1:9/ops",
        payload="{}",
        status="succeeded",
    )

    listing = admin_client.get("/admin/callbacks_app/delivery/")
    page = admin_client.get(f"/admin/callbacks_app/delivery/{ops.id}/change/")
    resend = admin_client.post(f"/admin/callbacks_app/delivery/{ops.id}/resend/", follow=True)

    assert listing.status_code == page.status_code == 200
    assert "operators&#x27; alert" in listing.content.decode()
    assert "is not resent" in resend.content.decode()
    assert Delivery.objects.count() == 1


INVITATION_LINK = re.compile(r"http://testserver(/portal/invitations/[A-Za-z0-9_-]+)")


def mailed(smtp_server, matches, what: str):
    """The first accepted email for which ``matches(message)`` holds, waited for."""
    return wait_until(
        lambda: next((m for m in smtp_server.messages if matches(m)), None),
        timeout=30,
        message=f"no {what} email",
    )


def callback_to(account, url: str) -> None:
    task = TaskFactory(owner=account.user, callback_url=url)
    task_complete(task_id=task.id, response={"category": "red"})


@pytest.mark.cluster
def test_alert_emails_reach_an_invitee_only_once_it_accepted_through_the_mailed_link(
    start_cluster, account, customer, receiver, smtp_server, settings
):
    """Issue 25 F6: no alert email to an address nobody confirmed (SPEC §6.6)."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    start_cluster(
        EMAIL_URL=f"smtp://{smtp_server.host}:{smtp_server.port}", PUBLIC_BASE_URL="http://testserver"
    )
    # Given two invited addresses, opted in to the alert emails
    team = ["ann@example.com", "bob@example.com"]
    customer.post("/v1/teams/invite", {"emails": team, "team_role": "member"}, format="json")
    opted_in = customer.post(
        "/v1/teams/set_alert_emails", {"emails": team, "alert_emails": True}, format="json"
    )

    # When a target of the account starts failing
    receiver.answer(Answer(500, b"down"))
    callback_to(account, receiver.url)
    failing = mailed(smtp_server, lambda m: "failing" in m.message["Subject"], "failing alert")

    # Then only the owner is mailed the alert: the invitees' addresses are confirmed by nobody
    assert failing.rcpt_tos == ["customer@example.com"]
    assert opted_in.status_code == 400
    assert "accepted" in opted_in.json()["error"]

    # When ann accepts through the link mailed to her, and is opted in
    invitation = mailed(smtp_server, lambda m: m.rcpt_tos == ["ann@example.com"], "invitation")
    assert Client().post(INVITATION_LINK.search(invitation.body).group(1)).status_code == 302
    opted_in = customer.post(
        "/v1/teams/set_alert_emails", {"emails": ["ann@example.com"], "alert_emails": True}, format="json"
    )
    assert opted_in.status_code == 200
    # and the target recovers
    receiver.answer(Answer(200))
    callback_to(account, receiver.url)
    recovered = mailed(smtp_server, lambda m: "delivered again" in m.message["Subject"], "recovery alert")

    # Then ann gets the next alert; bob, who never accepted, does not
    assert sorted(recovered.rcpt_tos) == ["ann@example.com", "customer@example.com"]


@pytest.mark.cluster
def test_an_alert_whose_email_was_in_flight_when_its_cluster_died_is_emailed_all_the_same(
    start_cluster, account, receiver, smtp_server
):
    """At least once (SPEC §16): an alert taken by a job that died before its email was sent is
    taken again once its lease runs out, and emailed by another cluster."""
    fail_then_recover(account, receiver)  # three alerts, their fan-out jobs queued for a cluster
    TargetAlert.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    env = {"EMAIL_URL": f"smtp://{smtp_server.host}:{smtp_server.port}", "CALLBACK_ALERT_LEASE_SECONDS": "1"}
    smtp_server.hang()
    dying = start_cluster(**env)
    smtp_server.wait_for_hung(1, timeout=30)  # a job is sending an alert's email

    dying.kill()  # while that email is sent
    smtp_server.accept()
    start_cluster(**env)

    smtp_server.wait_for(3, timeout=30)
    wait_until(
        lambda: not TargetAlert.objects.filter(fanned_out_at__isnull=True).exists(),
        30,
        "an alert was not fanned out",
    )
    subjects = collections.Counter(m.message["Subject"] for m in smtp_server.messages)
    assert len(subjects) == 3, subjects
