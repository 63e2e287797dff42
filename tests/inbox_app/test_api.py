"""``/v1/inboxes`` (SPEC §15): scoped by account and mode, newest first, scripts, deletes."""

import pytest

from inbox_app.models import CapturedRequest, Inbox

pytestmark = pytest.mark.django_db


def create(client, name="my inbox"):
    answer = client.post("/v1/inboxes", {"name": name}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_create_answers_its_url_under_the_public_base_url(customer, settings):
    settings.PUBLIC_BASE_URL = "https://hooks.example.com"

    inbox = create(customer)

    assert set(inbox) >= {"id", "name", "url", "created_at", "expires_at"}
    assert inbox["id"].startswith("inb_")
    stored = Inbox.objects.get(id=inbox["id"])
    assert inbox["url"] == f"https://hooks.example.com/inbox/{stored.token}/"
    assert len(stored.token) >= 22  # 128 bits, URL-safe base64
    assert stored.mode == "live"


def test_an_inbox_created_with_the_test_key_is_of_the_test_mode(customer_test_mode):
    inbox = create(customer_test_mode)

    assert Inbox.objects.get(id=inbox["id"]).mode == "test"


def test_list_shows_the_keys_inboxes_only(customer, customer_test_mode, api, other_account):
    mine = create(customer, "live one")
    create(customer_test_mode, "test one")
    create(api.as_key(other_account.live_api_key), "theirs")

    listed = customer.get("/v1/inboxes").json()["inboxes"]

    assert [i["id"] for i in listed] == [mine["id"]]


@pytest.mark.parametrize("route", ["", "/requests"])
def test_another_accounts_or_modes_inbox_is_a_404(customer, customer_test_mode, api, other_account, route):
    inbox = create(customer)
    other = api.as_key(other_account.live_api_key)

    for client in (other, customer_test_mode):
        assert client.get(f"/v1/inboxes/{inbox['id']}{route}").status_code == 404
        assert client.delete(f"/v1/inboxes/{inbox['id']}{route}").status_code == 404
    assert Inbox.objects.filter(id=inbox["id"]).exists()


def test_patch_sets_the_script_and_the_capture_route_follows_it(customer, client):
    inbox = create(customer)
    url_path = "/inbox/" + Inbox.objects.get(id=inbox["id"]).token

    answer = customer.patch(
        f"/v1/inboxes/{inbox['id']}",
        {"fail_count": 2, "fail_status": 503, "answer_headers": {"Retry-After": "5"}, "name": "renamed"},
        format="json",
    )

    assert answer.status_code == 200
    assert answer.json()["name"] == "renamed"
    assert answer.json()["script"]["fail_count"] == 2
    statuses = [client.post(url_path, b"", content_type="text/plain").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


@pytest.mark.parametrize(
    "script",
    [
        {"answer_status": 99},
        {"fail_status": 600},
        {"answer_delay_s": 3600},
        {"failure_rate": 1.5},
        {"answer_headers": {"Bad Name": "x"}},
        {"answer_headers": {"X-A": "line\r\nInjected: yes"}},
        {"answer_headers": {"Content-Length": "1"}},
        {"unknown": 1},
    ],
)
def test_a_bad_script_is_a_400_naming_the_field(customer, script):
    inbox = create(customer)

    answer = customer.patch(f"/v1/inboxes/{inbox['id']}", script, format="json")

    assert answer.status_code == 400
    assert set(answer.json()["details"]) == set(script)


def test_requests_are_listed_newest_first_with_their_verification(customer, client):
    inbox = create(customer)
    token = Inbox.objects.get(id=inbox["id"]).token
    for n in range(3):
        client.post(f"/inbox/{token}/cb{n}?n={n}", b'{"a": 1}', content_type="application/json")

    listed = customer.get(f"/v1/inboxes/{inbox['id']}/requests").json()["requests"]

    assert [r["path"] for r in listed] == ["/cb2", "/cb1", "/cb0"]
    first = listed[0]
    assert first["method"] == "POST" and first["query"] == "n=2" and first["body"] == '{"a": 1}'
    assert first["truncated"] is False and first["delivery_id"] is None and first["attempt"] is None
    assert set(first["verification"]) == {
        "auth",
        "signature",
        "timestamp_skew_s",
        "payload_shape_ok",
        "reasons",
    }
    assert first["verification"]["auth"] is None
    assert "scale-callback-auth is missing" in first["verification"]["reasons"]


def test_requests_page_with_limit_and_before(customer, client):
    inbox = create(customer)
    token = Inbox.objects.get(id=inbox["id"]).token
    for n in range(5):
        client.get(f"/inbox/{token}/{n}")

    page = customer.get(f"/v1/inboxes/{inbox['id']}/requests", {"limit": 2}).json()["requests"]
    rest = customer.get(f"/v1/inboxes/{inbox['id']}/requests", {"limit": 10, "before": page[-1]["id"]}).json()

    assert [r["path"] for r in page] == ["/4", "/3"]
    assert [r["path"] for r in rest["requests"]] == ["/2", "/1", "/0"]


def test_delete_requests_then_the_inbox(customer, client):
    inbox = create(customer)
    token = Inbox.objects.get(id=inbox["id"]).token
    client.get(f"/inbox/{token}/x")

    cleared = customer.delete(f"/v1/inboxes/{inbox['id']}/requests")
    deleted = customer.delete(f"/v1/inboxes/{inbox['id']}")

    assert cleared.json() == {"id": inbox["id"], "deleted_requests": 1}
    assert deleted.json() == {"id": inbox["id"], "deleted": True}
    assert not CapturedRequest.objects.exists()
    assert client.get(f"/inbox/{token}/x").status_code == 404


def test_inboxes_per_account_and_mode_are_limited(customer, settings):
    settings.INBOX_MAX_PER_ACCOUNT = 2
    create(customer)
    create(customer)

    answer = customer.post("/v1/inboxes", {"name": "third"}, format="json")

    assert answer.status_code == 400
    assert "At most 2 inboxes" in answer.json()["error"]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 201}, {"name": "a", "extra": 1}])
def test_create_refuses_bad_input(customer, body):
    assert customer.post("/v1/inboxes", body, format="json").status_code == 400
