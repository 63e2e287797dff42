"""Target health (SPEC §16): kept current as attempts are recorded, alerts by email once per transition.

Real receivers (tests/servers.py), real SMTP (aiosmtpd), the production engine
loop in this process (``deliver_until_finished``); the fan-out is the job's own
service (``alerts_fan_out_pending``), run here rather than on a cluster.
"""

import pytest

from callbacks_app.alerts import alerts_fan_out_pending
from callbacks_app.failure_classes import failure_class
from callbacks_app.models import Delivery, TargetAlert, TargetHealth, TargetHealthSlot
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory, teammate_create
from tests.servers import Answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]


def completed_delivery(account, url: str, *, test_mode: bool = False) -> Delivery:
    task = TaskFactory(owner=account.user, callback_url=url, is_test=test_mode)
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


def origin_of(receiver) -> str:
    return f"http://127.0.0.1:{receiver.port}"


def subjects(smtp_server) -> list[str]:
    return [m.message["Subject"] for m in smtp_server.messages]


def test_twenty_failed_attempts_send_one_failing_email_naming_origin_class_status_and_excerpt(
    account, receiver, smtp_server
):
    # Given a receiver that answers 500 with a body
    receiver.answer(Answer(500, b"database is down"))
    # When a delivery makes its 21 attempts (the first and 20 retries)
    deliver_until_finished(completed_delivery(account, receiver.url).id)
    alerts_fan_out_pending()

    # Then one "failing" email went to the account, naming what, why and the answer
    failing = [m for m in smtp_server.messages if "failing" in m.message["Subject"]]
    assert len(failing) == 1
    email = failing[0]
    assert email.rcpt_tos == ["customer@example.com"]
    assert origin_of(receiver) in email.message["Subject"]
    body = email.body
    assert origin_of(receiver) in body
    assert "server error (5xx)" in body
    assert "Last status: 500" in body
    assert "database is down" in body
    assert "What to do" in body
    health = TargetHealth.objects.get()
    assert (health.state, health.consecutive_failures, health.last_error_class) == ("failing", 21, "5xx")
    assert TargetAlert.objects.filter(kind="target.failing").count() == 1


def test_a_target_failing_below_the_threshold_sends_nothing(account, receiver, smtp_server, settings):
    settings.CALLBACK_RETRY_SCHEDULE = [0.05] * 5  # six attempts, fewer than 20
    receiver.answer(Answer(503, b"busy"))
    deliver_until_finished(completed_delivery(account, receiver.url).id)
    alerts_fan_out_pending()

    assert TargetHealth.objects.get().state == "healthy"
    assert not [s for s in subjects(smtp_server) if "failing" in s]


def test_the_first_2xx_after_failing_sends_one_recovered_email(account, receiver, smtp_server):
    receiver.answer(Answer(500, b"down"))
    deliver_until_finished(completed_delivery(account, receiver.url).id)
    receiver.answer(Answer(200))

    deliver_until_finished(completed_delivery(account, receiver.url).id)
    deliver_until_finished(completed_delivery(account, receiver.url).id)  # a second success: nothing more
    alerts_fan_out_pending()

    recovered = [m for m in smtp_server.messages if "delivered again" in m.message["Subject"]]
    assert len(recovered) == 1
    assert origin_of(receiver) in recovered[0].body
    health = TargetHealth.objects.get()
    assert (health.state, health.consecutive_failures, health.first_failure_at) == ("healthy", 0, None)
    assert health.last_success_at is not None


def test_failing_again_within_24_hours_records_the_alert_but_sends_no_second_email(
    account, receiver, smtp_server
):
    for answer in (500, 200, 500):
        receiver.answer(Answer(answer, b"again"))
        deliver_until_finished(completed_delivery(account, receiver.url).id)
    alerts_fan_out_pending()

    assert TargetAlert.objects.filter(kind="target.failing").count() == 2
    assert len([s for s in subjects(smtp_server) if "failing" in s]) == 1


def test_teammates_who_opt_in_get_the_alert_emails_too(account, receiver, smtp_server):
    teammate_create(account=account.profile, email="ann@example.com", alert_emails=True)
    teammate_create(account=account.profile, email="bob@example.com")
    receiver.answer(Answer(500))

    deliver_until_finished(completed_delivery(account, receiver.url).id)
    alerts_fan_out_pending()

    failing = next(m for m in smtp_server.messages if "failing" in m.message["Subject"])
    assert sorted(failing.rcpt_tos) == ["ann@example.com", "customer@example.com"]


def test_a_teammate_whose_address_nobody_confirmed_gets_no_alert_email(account, receiver, smtp_server):
    # Given a membership an earlier release attached without an invitation, opted in
    teammate_create(account=account.profile, email="ann@example.com", alert_emails=True, accepted_at=None)
    receiver.answer(Answer(500))

    deliver_until_finished(completed_delivery(account, receiver.url).id)
    alerts_fan_out_pending()

    failing = next(m for m in smtp_server.messages if "failing" in m.message["Subject"])
    assert failing.rcpt_tos == ["customer@example.com"]


def test_health_is_kept_per_account_and_mode(account, other_account, receiver, smtp_server):
    receiver.answer(Answer(500))
    deliver_until_finished(completed_delivery(account, receiver.url, test_mode=True).id)
    receiver.answer(Answer(200))
    deliver_until_finished(completed_delivery(account, receiver.url).id)
    deliver_until_finished(completed_delivery(other_account, receiver.url).id)
    alerts_fan_out_pending()

    states = {(h.owner.email, h.mode): h.state for h in TargetHealth.objects.select_related("owner")}
    assert states == {
        ("customer@example.com", "test"): "failing",
        ("customer@example.com", "live"): "healthy",
        ("other@example.com", "live"): "healthy",
    }
    # The other account is told nothing of the customer's target
    assert all("other@example.com" not in m.rcpt_tos for m in smtp_server.messages)


def test_attempts_are_counted_in_ten_minute_slots_with_a_duration_histogram(account, receiver):
    receiver.answer(Answer(500), Answer(500), Answer(200))
    deliver_until_finished(completed_delivery(account, receiver.url).id)

    (slot,) = TargetHealthSlot.objects.all()
    assert (slot.attempts, slot.succeeded, slot.exhausted) == (3, 1, 0)
    assert sum(slot.durations) == 3


def test_exhausted_deliveries_give_one_alert_per_hour_naming_the_count(
    account, receiver, smtp_server, settings
):
    settings.CALLBACK_RETRY_SCHEDULE = []  # one attempt each: every failure exhausts its delivery
    receiver.answer(Answer(500))
    for _ in range(5):
        deliver_until_finished(completed_delivery(account, receiver.url).id)
    alerts_fan_out_pending()

    (alert,) = TargetAlert.objects.filter(kind="delivery.exhausted")
    assert alert.details["count"] == 1  # the first exhausted delivery alerts; the others wait for the window
    assert TargetHealth.objects.get().exhausted_unreported == 4
    gave_up = [m for m in smtp_server.messages if "gave up" in m.message["Subject"]]
    assert len(gave_up) == 1
    assert "1 callbacks" in gave_up[0].message["Subject"]


@pytest.mark.parametrize(
    ("status_code", "error", "expected"),
    [
        (404, "HTTP 404", "4xx"),
        (502, "HTTP 502", "5xx"),
        (302, "Redirect (302) not followed", "3xx"),
        (None, "Timed out after 15 s", "timeout"),
        (None, "SSLError: certificate verify failed", "tls"),
        (None, "ConnectionError: Connection refused", "connection"),
        (None, "Refused: a private address; not sent", "refused"),
    ],
)
def test_failure_class_names_why_an_attempt_failed(status_code, error, expected):
    assert failure_class(status_code=status_code, error=error) == expected


def test_a_connection_failure_is_classed_connection(account, smtp_server, receiver):
    url = receiver.url
    receiver.close()  # nothing listens any more

    deliver_until_finished(completed_delivery(account, url).id)
    alerts_fan_out_pending()

    health = TargetHealth.objects.get()
    assert health.last_error_class == "connection"
    assert health.last_status_code is None
    failing = next(m for m in smtp_server.messages if "failing" in m.message["Subject"])
    assert "could not be connected to" in failing.body
    assert "no HTTP answer" in failing.body


def test_the_alert_carries_no_secret_of_the_account(account, receiver, smtp_server):
    profile = account.profile
    # A receiver that echoes the auth key back in its answer
    receiver.answer(Answer(500, f"bad key {profile.live_callback_auth_key}".encode()))

    deliver_until_finished(completed_delivery(account, receiver.url).id)
    alerts_fan_out_pending()

    health = TargetHealth.objects.get()
    assert profile.live_callback_auth_key not in health.last_excerpt
    assert smtp_server.messages
    for message in smtp_server.messages:
        assert profile.live_callback_auth_key not in message.body
        assert profile.live_signing_secret not in message.body
