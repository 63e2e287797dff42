"""Real HTTP into the inbox (SPEC §15): a ScaleHooks delivery, and callbacks a test forges.

The delivery goes through the engine and the one outgoing session to
pytest-django's live server at PUBLIC_BASE_URL, with CALLBACK_ALLOWED_NETWORKS
empty: the inbox exemption of the address guard, not a setting, lets it through.
"""

import json
import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from callbacks_app.models import Delivery
from inbox_app.models import CapturedRequest
from inbox_app.selectors import inbox_timing
from inbox_app.services import inbox_create, inbox_update_script
from tasks_app.accounts import signing_secret_rotate
from tasks_app.keys import generate_signing_secret
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024


@pytest.fixture
def served(settings, live_server):
    """PUBLIC_BASE_URL is the live server; no network opened to callbacks."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.CALLBACK_ALLOWED_NETWORKS = []
    return live_server


@pytest.fixture
def live_inbox(served, account):
    return inbox_create(profile=account.profile, mode="live", name="end to end")


def complete_with_callback_to(account, url) -> Delivery:
    task = TaskFactory(owner=account.user, callback_url=url)
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


def test_a_delivery_of_scalehooks_is_captured_verified_and_linked(account, live_inbox):
    delivery = complete_with_callback_to(account, live_inbox.url + "callback")

    finished = deliver_until_finished(delivery.id)

    assert finished.status == Delivery.Status.SUCCEEDED
    captured = CapturedRequest.objects.get(inbox=live_inbox)
    assert captured.path == "/callback"
    assert captured.delivery_id == delivery.id
    assert captured.attempt == 1
    verification = captured.verification
    assert (verification["auth"], verification["signature"], verification["payload_shape_ok"]) == (
        "live",
        "current",
        True,
    )
    assert verification["reasons"] == []
    assert dict(captured.headers)["scale-callback-auth"] == "***"
    assert json.loads(bytes(captured.body))["task_id"] == delivery.task_id


def test_retries_to_a_failing_inbox_show_in_the_timing_view(account, live_inbox, settings):
    settings.CALLBACK_RETRY_SCHEDULE = ["0.2", "0.2", "0.2"]
    inbox_update_script(inbox=live_inbox, fail_count=2, fail_status=503)
    delivery = complete_with_callback_to(account, live_inbox.url + "cb")

    finished = deliver_until_finished(delivery.id)

    assert finished.status == Delivery.Status.SUCCEEDED
    assert list(finished.attempts.order_by("number").values_list("status_code", flat=True)) == [503, 503, 200]
    timing = inbox_timing(inbox=live_inbox)
    assert [(a.delivery_id, a.attempt) for a in timing] == [
        (delivery.id, 1),
        (delivery.id, 2),
        (delivery.id, 3),
    ]
    assert all(a.due_at is not None and a.arrived_at >= a.started_at for a in timing)
    assert all(a.lateness_s >= 0 for a in timing)


def forged(account, *, secret=None, timestamp=None, body=b'{"task_id":"t"}'):
    """Callback headers as a sender would sign them: the account's live key and secret unless told."""
    profile = account.profile
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = Webhook(secret or profile.live_signing_secret).sign(
        "msg_forged", datetime.fromtimestamp(timestamp, tz=UTC), body.decode()
    )
    return {
        "Content-Type": "application/json",
        "scale-callback-auth": profile.live_callback_auth_key,
        "webhook-id": "msg_forged",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_a_wrong_signature_shows_its_reason(account, live_inbox):
    answer = requests.post(
        live_inbox.url + "cb",
        data=b'{"task_id":"t"}',
        headers=forged(account, secret=generate_signing_secret()),
    )

    assert answer.status_code == 200
    verification = CapturedRequest.objects.get(inbox=live_inbox).verification
    assert verification["auth"] == "live" and verification["signature"] is None
    assert "webhook-signature does not verify with the current signing secret" in verification["reasons"]


def test_a_stale_timestamp_shows_its_reason(account, live_inbox):
    headers = forged(account, timestamp=int(time.time()) - 412)

    requests.post(live_inbox.url + "cb", data=b'{"task_id":"t"}', headers=headers)

    verification = CapturedRequest.objects.get(inbox=live_inbox).verification
    assert verification["signature"] == "current"
    assert verification["timestamp_skew_s"] >= 412
    assert any(r.startswith("webhook-timestamp is 41") and "300 s" in r for r in verification["reasons"])


def test_the_previous_secret_during_a_rotation_verifies_as_previous(account, live_inbox):
    old = account.profile.live_signing_secret
    signing_secret_rotate(profile=account.profile, mode="live")

    requests.post(live_inbox.url + "cb", data=b'{"task_id":"t"}', headers=forged(account, secret=old))

    verification = CapturedRequest.objects.get(inbox=live_inbox).verification
    assert verification["signature"] == "previous"
    assert "signature" not in " ".join(verification["reasons"])


def test_a_2_mib_body_over_real_http_is_truncated_not_refused(live_inbox):
    answer = requests.post(live_inbox.url + "big", data=b"x" * (2 * MIB))

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get(inbox=live_inbox)
    assert (captured.truncated, len(bytes(captured.body)), captured.body_size) == (True, MIB, 2 * MIB)


def test_unknown_token_over_real_http_is_a_404(served):
    assert requests.post(f"{served.url}/inbox/AAAAAAAAAAAAAAAAAAAAAA/cb", data=b"{}").status_code == 404


def test_concurrent_requests_each_take_their_own_place_in_the_sequence(live_inbox):
    inbox_update_script(inbox=live_inbox, fail_count=5, fail_status=503)
    statuses = []

    def send():
        statuses.append(requests.post(live_inbox.url + "c", data=b"", timeout=30).status_code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 7 + [503] * 5
    numbers = sorted(CapturedRequest.objects.filter(inbox=live_inbox).values_list("number", flat=True))
    assert numbers == list(range(1, 13))


def test_delayed_answers_are_capped_so_an_inbox_cannot_hold_the_web_workers(live_inbox, settings):
    # Given one delayed answer in progress, and room for only one per process
    settings.INBOX_MAX_DELAYED_ANSWERS = 1
    first = {}
    holder = threading.Thread(
        target=lambda: first.update(answer=requests.post(live_inbox.url + "?delay=3", data=b"{}", timeout=10))
    )
    holder.start()
    wait_until(lambda: CapturedRequest.objects.filter(inbox=live_inbox).exists(), 5, "the first request")

    # When another delayed request comes meanwhile
    second = requests.post(live_inbox.url + "?delay=3", data=b"{}", timeout=10)
    holder.join()

    # Then it is captured and answered at once, saying why the delay was skipped; the first waited
    assert second.status_code == 200
    assert second.headers["X-Inbox-Delay"] == "skipped: too many delayed answers at once"
    assert "X-Inbox-Delay" not in first["answer"].headers
    assert CapturedRequest.objects.filter(inbox=live_inbox).count() == 2
