"""No secret in stored attempts, in the callbacks API, or in the logs of a failing delivery (SPEC §8)."""

import base64
import json
import logging
import re
from urllib.parse import quote

import pytest

from callbacks_app.masking import MASK, scrub, secret_values
from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.accounts import signing_secret_rotate
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished, logged_text
from tests.factories import EmailConfirmationFactory, TaskFactory
from tests.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rotated_account(account):
    """An account in the middle of a signing-secret rotation of both modes: two secrets sign every callback."""
    profile, keys = account.profile, account.keys
    previous = [profile.live_signing_secret, profile.test_signing_secret]
    signing_secret_rotate(profile=profile, mode="live")
    signing_secret_rotate(profile=profile, mode="test")
    profile.refresh_from_db()
    signing = [profile.live_signing_secret, profile.test_signing_secret, *previous]
    secrets = [
        profile.live_callback_auth_key,
        profile.test_callback_auth_key,
        *signing,
        keys.live_api_key,
        keys.test_api_key,
    ]
    secrets += [s.removeprefix("whsec_") for s in signing]
    return profile, keys, secrets


def signatures_sent(receiver) -> list[str]:
    return [
        part.partition(",")[2]
        for request in receiver.requests
        for part in request.header("webhook-signature").split()
    ]


def stored_attempts_text() -> str:
    return json.dumps(list(DeliveryAttempt.objects.values()), default=str)


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
    assert len(leaked) == 12 + 2 * 3  # two signatures per attempt: the rotation is on
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


# --- scrub: a secret echoed in another form ------------------------------------


def echoed_forms(secret: str) -> dict[str, str]:
    """How a receiver may echo a secret back: as is, upper- or lower-cased, percent-encoded
    (upper- or lower-case hex digits, as a query string or a form would carry it), with
    JSON's escaped slash, and the hex of the bytes a base64 secret stands for."""
    percent = quote(secret, safe="")
    forms = {
        "verbatim": secret,
        "upper-case": secret.upper(),
        "lower-case": secret.lower(),
        "percent-encoded": percent,
        "percent-encoded, lower-case hex": re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), percent),
        "percent-encoded, upper-cased": percent.upper(),
        "JSON-escaped": secret.replace("/", "\\/"),
    }
    try:
        raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raw = b""
    if len(raw) >= 16:
        forms["hex of its bytes"] = raw.hex()
        forms["upper-case hex of its bytes"] = raw.hex().upper()
    return forms


def test_scrub_masks_every_secret_in_every_echoed_form(rotated_account):
    profile, _keys, _secrets = rotated_account
    signature = base64.b64encode(bytes(range(200, 232))).decode()  # with "+", "/" and "="
    assert {"+", "/"} <= set(signature)
    headers = {"webhook-signature": f"v1,{signature} v1,{signature[::-1]}"}
    secrets = secret_values(profile=profile, headers=headers)
    # 2 auth keys; 4 signing secrets (live and test, current and previous) with and without whsec_; 2 signatures
    assert len(secrets) == 12

    for secret in secrets:
        for form, echoed in echoed_forms(secret).items():
            text = f'{{"error": "bad key", "got": "{echoed}"}}'
            scrubbed = scrub(text, secrets)
            assert echoed.lower() not in scrubbed.lower(), (form, secret)
            assert MASK in scrubbed, (form, secret)


def test_scrub_leaves_text_without_a_secret_as_it_was(rotated_account):
    profile, _keys, _secrets = rotated_account
    secrets = secret_values(profile=profile, headers={})
    text = "Unauthorized: %2B%2F nothing to hide ABCDEF 0123456789"

    assert scrub(text, secrets) == text


def test_receiver_echoing_secrets_upper_cased_and_percent_encoded_leaks_none(
    rotated_account, receiver, settings, api
):
    profile, keys, secrets = rotated_account
    settings.CALLBACK_RETRY_SCHEDULE = []
    # the secrets of the profile (the API keys are never sent to a receiver)
    sent = [secret for secret in secrets if secret not in (keys.live_api_key, keys.test_api_key)]
    echoed = sorted({value for secret in sent for value in echoed_forms(secret).values()} - set(sent))
    body = ("unknown key " + " ".join(echoed)).encode()
    assert len(body) <= 4 * 1024  # all of it is kept in the attempt record
    receiver.answer(Answer(401, body=body))
    task = TaskFactory(owner=profile.user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})

    delivery = deliver_until_finished(Delivery.objects.get(task=task).id)
    stored = stored_attempts_text().lower()
    api_text = api.as_key(keys.live_api_key).get(f"/v1/task/{task.id}/callbacks").content.decode().lower()

    assert delivery.attempts.get().status_code == 401
    assert "unknown key" in stored
    for value in echoed:
        assert value.lower() not in stored
        assert value.lower() not in api_text
