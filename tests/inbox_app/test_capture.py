"""The capture route /inbox/<token>/<any path> (SPEC §15), through Django's test client."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox_app.models import CapturedRequest, Inbox
from inbox_app.services import inbox_update_script

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def test_capture_any_method_path_query_and_headers_in_order(client, inbox, capture_path):
    answer = client.generic(
        "PUT",
        f"{capture_path}/any/deep/path?x=1&y=2",
        data=b"hello",
        content_type="text/plain",
        HTTP_X_FIRST="1",
        HTTP_X_SECOND="2",
    )

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get(inbox=inbox)
    assert (captured.method, captured.path, captured.query) == ("PUT", "/any/deep/path", "x=1&y=2")
    names = [name for name, _ in captured.headers]
    assert names.index("x-first") < names.index("x-second")
    assert ["content-type", "text/plain"] in captured.headers
    assert bytes(captured.body) == b"hello"
    assert not captured.truncated


@pytest.mark.parametrize("suffix", ["", "/"])
def test_the_bare_inbox_url_captures_too(client, inbox, capture_path, suffix):
    assert client.get(capture_path + suffix).status_code == 200
    assert CapturedRequest.objects.get(inbox=inbox).path == "/"


def test_unknown_token_is_a_404_and_captures_nothing(client, inbox):
    answer = client.post("/inbox/not-a-token/cb", data=b"{}", content_type="application/json")

    assert answer.status_code == 404
    assert answer.json()["status_code"] == 404
    assert not CapturedRequest.objects.exists()


def test_expired_inbox_is_a_404(client, inbox, capture_path):
    Inbox.objects.filter(pk=inbox.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.post(capture_path, data=b"{}", content_type="application/json").status_code == 404
    assert not CapturedRequest.objects.exists()


def test_a_2_mib_body_is_kept_to_1_mib_and_flagged(client, inbox, capture_path):
    body = b"a" * (2 * MIB)

    answer = client.post(capture_path, data=body, content_type="application/octet-stream")

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get(inbox=inbox)
    assert len(bytes(captured.body)) == MIB
    assert captured.body_size == 2 * MIB
    assert captured.truncated


def test_a_body_of_exactly_the_limit_is_not_truncated(client, inbox, capture_path, settings):
    settings.INBOX_MAX_BODY_BYTES = 10

    client.post(capture_path, data=b"0123456789", content_type="text/plain")

    captured = CapturedRequest.objects.get(inbox=inbox)
    assert (bytes(captured.body), captured.truncated) == (b"0123456789", False)


def test_a_body_that_is_not_utf8_is_kept_as_bytes(client, inbox, capture_path):
    answer = client.post(capture_path, data=b"\xff\xfe{\x80", content_type="application/json")

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get(inbox=inbox)
    assert bytes(captured.body) == b"\xff\xfe{\x80"
    assert "the body is not JSON" in captured.verification["reasons"][-1]


def test_the_auth_header_and_authorization_are_stored_masked(client, account, inbox, capture_path):
    key = account.profile.live_callback_auth_key

    client.post(
        capture_path,
        data=b"{}",
        content_type="application/json",
        HTTP_SCALE_CALLBACK_AUTH=key,
        HTTP_AUTHORIZATION="Basic c2VjcmV0Og==",
    )

    captured = CapturedRequest.objects.get(inbox=inbox)
    assert captured.verification["auth"] == "live"
    headers = dict(captured.headers)
    assert headers["scale-callback-auth"] == "***"
    assert headers["authorization"] == "***"
    assert key not in str(captured.headers)


def test_the_inbox_keeps_its_newest_requests_only(client, inbox, capture_path, settings):
    settings.INBOX_MAX_REQUESTS = 3

    for n in range(7):
        client.post(f"{capture_path}/{n}", data=b"", content_type="text/plain")

    kept = CapturedRequest.objects.filter(inbox=inbox).order_by("number")
    assert [r.path for r in kept] == ["/4", "/5", "/6"]


def test_a_webhook_id_of_another_account_is_not_linked(client, inbox, capture_path, other_account):
    from tests.factories import DeliveryFactory, TaskFactory

    theirs = DeliveryFactory(task=TaskFactory(owner=other_account.user))

    client.post(capture_path, data=b"{}", content_type="application/json", HTTP_WEBHOOK_ID=theirs.id)

    assert CapturedRequest.objects.get(inbox=inbox).delivery_id is None


def test_a_webhook_id_of_the_account_is_linked_with_its_attempt(client, account, inbox, capture_path):
    from tests.factories import DeliveryFactory, TaskFactory

    ours = DeliveryFactory(task=TaskFactory(owner=account.user))

    client.post(
        capture_path,
        data=b"{}",
        content_type="application/json",
        HTTP_WEBHOOK_ID=ours.id,
        HTTP_SCALE_CALLBACK_ATTEMPT="3",
    )

    captured = CapturedRequest.objects.get(inbox=inbox)
    assert (captured.delivery_id, captured.attempt) == (ours.id, 3)


# --- scripted answers ----------------------------------------------------------------------


def test_default_script_answers_as_set(client, inbox, capture_path):
    inbox_update_script(
        inbox=inbox, answer_status=201, answer_body='{"ok": true}', answer_headers={"X-Why": "scripted"}
    )

    answer = client.post(capture_path, data=b"{}", content_type="application/json")

    assert answer.status_code == 201
    assert answer.json() == {"ok": True}
    assert answer["X-Why"] == "scripted"


def test_fail_three_then_200(client, inbox, capture_path):
    inbox_update_script(inbox=inbox, fail_count=3, fail_status=503, answer_headers={"Retry-After": "1"})

    statuses = [client.post(capture_path, data=b"", content_type="text/plain").status_code for _ in range(5)]

    assert statuses == [503, 503, 503, 200, 200]
    rules = list(CapturedRequest.objects.order_by("number").values_list("answer__rule", flat=True))
    assert rules == ["sequence"] * 3 + ["default"] * 2


def test_setting_the_script_starts_the_sequence_again(client, inbox, capture_path):
    inbox_update_script(inbox=inbox, fail_count=1)
    client.get(capture_path)
    inbox_update_script(inbox=inbox, fail_count=1)

    assert client.get(capture_path).status_code == 500
    assert client.get(capture_path).status_code == 200


@pytest.mark.parametrize(("rate", "expected"), [(1.0, 502), (0.0, 200)])
def test_failure_rate(client, inbox, capture_path, rate, expected):
    inbox_update_script(inbox=inbox, failure_rate=rate, fail_status=502)

    assert {client.get(capture_path).status_code for _ in range(5)} == {expected}


def test_query_overrides_the_script(client, inbox, capture_path):
    inbox_update_script(inbox=inbox, fail_count=10)

    answer = client.post(
        f"{capture_path}/cb?status=429&retry_after=7&body=slow%20down", data=b"", content_type="text/plain"
    )

    assert answer.status_code == 429
    assert answer["Retry-After"] == "7"
    assert answer.content == b"slow down"
    assert CapturedRequest.objects.get().answer["rule"] == "query"


@pytest.mark.parametrize("status", ["99", "600", "abc", "-1", "1e3"])
def test_a_query_status_out_of_range_is_ignored_never_a_5xx(client, inbox, capture_path, status):
    assert client.get(f"{capture_path}?status={status}").status_code == 200


def test_a_query_delay_is_capped_at_the_callback_timeout(client, inbox, capture_path, settings):
    settings.CALLBACK_TIMEOUT = 0.05

    answer = client.get(f"{capture_path}?delay=3600")

    assert answer.status_code == 200
    assert CapturedRequest.objects.get().answer["delay_s"] == 0.05


def test_a_nul_in_the_path_or_the_query_body_is_captured_not_a_5xx(client, inbox, capture_path):
    answer = client.get(f"{capture_path}/a%00b?body=x%00y")

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get(inbox=inbox)
    assert captured.path == "/a\ufffdb"
    assert captured.answer["body"] == "x\ufffdy"


def test_too_many_query_fields_are_captured_without_overrides(client, inbox, capture_path):
    query = "&".join(["a=1"] * 1500) + "&status=503"  # more fields than Django's request.GET takes

    answer = client.get(f"{capture_path}?{query}")

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get(inbox=inbox)
    assert (captured.query, captured.answer["rule"]) == (query, "default")
