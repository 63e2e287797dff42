"""The verification panel's checks (SPEC §15), as pure functions, against real signatures."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from inbox_app.verification import Secrets, checks, payload_shape_problem, verify
from tasks_app.keys import generate_signing_secret

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
LIVE = Secrets(auth_key="live-key", signing_secret=generate_signing_secret())
TEST = Secrets(auth_key="test-key", signing_secret=generate_signing_secret())
SECRETS = {"live": LIVE, "test": TEST}
BODY = json.dumps(
    {"task_id": "t1", "status": "completed", "response": {}, "task": {"task_id": "t1", "status": "completed"}}
).encode()


def signed(*, secret=LIVE.signing_secret, auth="live-key", at=NOW, body=BODY, msg_id="msg_1"):
    return [
        ("scale-callback-auth", auth),
        ("webhook-id", msg_id),
        ("webhook-timestamp", str(int(at.timestamp()))),
        ("webhook-signature", Webhook(secret).sign(msg_id, at, body.decode())),
    ]


def test_a_good_live_callback_passes_every_check():
    result = verify(
        headers=signed(), body=BODY, received_at=NOW + timedelta(seconds=2), secrets=SECRETS, mode="live"
    )

    assert (result.auth, result.signature, result.timestamp_skew_s, result.payload_shape_ok) == (
        "live",
        "current",
        2,
        True,
    )
    assert result.reasons == []


def test_the_test_key_is_recognised_and_its_secret_used():
    headers = signed(secret=TEST.signing_secret, auth="test-key")

    result = verify(headers=headers, body=BODY, received_at=NOW, secrets=SECRETS, mode="live")

    assert (result.auth, result.signature) == ("test", "current")


def test_a_wrong_auth_key_says_so():
    result = verify(headers=signed(auth="nope"), body=BODY, received_at=NOW, secrets=SECRETS, mode="live")

    assert result.auth is None
    assert result.reasons == ["scale-callback-auth matches neither the live nor the test key"]


def test_a_wrong_signature_says_so():
    headers = signed(secret=generate_signing_secret())

    result = verify(headers=headers, body=BODY, received_at=NOW, secrets=SECRETS, mode="live")

    assert result.signature is None
    assert result.reasons == ["webhook-signature does not verify with the current signing secret"]


def test_a_tampered_body_does_not_verify():
    result = verify(
        headers=signed(), body=BODY.replace(b"t1", b"t2"), received_at=NOW, secrets=SECRETS, mode="live"
    )

    assert result.signature is None


def test_a_stale_timestamp_is_its_own_reason_the_signature_still_checked():
    result = verify(
        headers=signed(), body=BODY, received_at=NOW + timedelta(seconds=412), secrets=SECRETS, mode="live"
    )

    assert result.signature == "current"
    assert result.timestamp_skew_s == 412
    assert result.reasons == ["webhook-timestamp is 412 s old; receivers reject more than 300 s"]


def test_a_timestamp_in_the_future_says_so():
    result = verify(
        headers=signed(), body=BODY, received_at=NOW - timedelta(seconds=400), secrets=SECRETS, mode="live"
    )

    assert result.reasons == ["webhook-timestamp is 400 s in the future; receivers reject more than 300 s"]


def test_the_previous_secret_during_its_overlap_verifies_as_previous():
    old = generate_signing_secret()
    rotated = {**SECRETS, "live": Secrets("live-key", generate_signing_secret(), previous_signing_secret=old)}

    result = verify(headers=signed(secret=old), body=BODY, received_at=NOW, secrets=rotated, mode="live")

    assert result.signature == "previous"
    assert result.reasons == []


def test_without_a_matching_key_the_inboxs_mode_secret_is_used():
    headers = signed(secret=TEST.signing_secret, auth="nope")

    assert (
        verify(headers=headers, body=BODY, received_at=NOW, secrets=SECRETS, mode="test").signature
        == "current"
    )
    assert verify(headers=headers, body=BODY, received_at=NOW, secrets=SECRETS, mode="live").signature is None


def test_a_request_without_callback_headers_gets_a_reason_for_each():
    result = verify(headers=[], body=b"hello", received_at=NOW, secrets=SECRETS, mode="live")

    assert result.reasons == [
        "scale-callback-auth is missing",
        "webhook-timestamp is missing",
        "webhook-id and webhook-signature are missing: the signature cannot be checked",
        "the body is not JSON; a callback body is {task_id, status, response, task}",
    ]
    assert [check.ok for check in checks(result.as_dict())] == [False, False, False, False]


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        json.dumps({"batch_name": "b", "status": "completed", "counts": {}, "batch": {"name": "b"}}).encode(),
    ],
)
def test_task_and_batch_bodies_have_the_shape(body):
    assert payload_shape_problem(body) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "the body is not a JSON object"),
        (b'{"task_id": "t1"}', "the body lacks status, response, task"),
        (
            b'{"task_id": "t1", "status": "completed", "response": {}, "task": {"task_id": "t2"}}',
            "not the task",
        ),
        (
            b'{"task_id": "t1", "status": "error", "response": {}, "task": {"task_id": "t1", "status": "completed"}}',
            "status is not its task's status",
        ),
        (b'{"batch_name": "b", "status": "completed"}', "the batch callback body lacks counts, batch"),
    ],
)
def test_other_bodies_say_what_is_wrong(body, reason):
    assert reason in payload_shape_problem(body)
