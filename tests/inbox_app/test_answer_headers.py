"""What an inbox's answer may carry (SPEC §8 "Content", issue 25 F2): only allow-listed headers
(`Retry-After`, `Cache-Control`, `X-*`; a `Content-Type` of JSON, text or XML), always
`nosniff` and `Content-Security-Policy: sandbox`, never a cookie or a redirect elsewhere.

Held at the three places a script enters or leaves: the API (`PATCH /v1/inboxes/{id}`), the
portal's script form, and the answer itself (a row stored before the rule may hold anything).
"""

import pytest
from django.test import Client

from inbox_app.models import CapturedRequest, Inbox
from inbox_app.services import inbox_create, inbox_update_script
from tests.portal_app.conftest import signed_in

pytestmark = pytest.mark.django_db

# What the penetration test's inbox set: a page that would run on the service's origin.
HOSTILE = {
    "Content-Type": "text/html",
    "Set-Cookie": "sessionid=attacker; Path=/",
    "Refresh": "0; url=https://evil.example/",
    "Location": "https://evil.example/",
}
REFUSED = [
    *HOSTILE.items(),
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Type", "image/svg+xml"),
    ("Content-Type", "application/xhtml+xml"),
    ("Content-Type", "application/javascript"),
    ("Content-Type", "text/plain; charset=utf-8; x=<"),
    ("content-security-policy", "default-src *"),
    ("Content-Disposition", "inline"),
    ("Link", "</x.js>; rel=preload"),
    ("Access-Control-Allow-Origin", "*"),
    ("X-Content-Type-Options", "sniff"),
    ("X-Frame-Options", "ALLOWALL"),
    ("X-Accel-Redirect", "/protected/secret"),
    ("X-Sendfile", "/etc/passwd"),
    ("X-Inbox-Delay", "0"),
]
ALLOWED = {
    "Retry-After": "30",
    "Cache-Control": "no-store",
    "X-Request-Id": "abc",
    "Content-Type": "application/json; charset=utf-8",
}
SANDBOX = "sandbox"


def create(client, name="answers") -> dict:
    answer = client.post("/v1/inboxes", {"name": name}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


@pytest.fixture
def inbox(account):
    return inbox_create(profile=account.profile, mode="test", name="answers")


def assert_inert(answer) -> None:
    """An answer no browser runs or follows: no cookie, no redirect, nothing active."""
    assert "Set-Cookie" not in answer
    assert answer.cookies == {}
    assert "Location" not in answer
    assert "Refresh" not in answer
    assert answer["Content-Type"].split(";")[0] in ("application/json", "text/plain")
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer.get("Content-Security-Policy") == SANDBOX


@pytest.mark.parametrize(("name", "value"), REFUSED)
def test_the_api_refuses_a_header_off_the_allow_list(customer, name, value):
    inbox = create(customer)

    answer = customer.patch(f"/v1/inboxes/{inbox['id']}", {"answer_headers": {name: value}}, format="json")

    assert answer.status_code == 400, answer.content
    assert set(answer.json()["details"]) == {"answer_headers"}
    assert Inbox.objects.get(id=inbox["id"]).answer_headers == {}


def test_the_api_takes_the_allowed_headers(customer, client):
    inbox = create(customer)

    answer = customer.patch(f"/v1/inboxes/{inbox['id']}", {"answer_headers": ALLOWED}, format="json")

    assert answer.status_code == 200, answer.content
    captured = client.post(f"/inbox/{Inbox.objects.get(id=inbox['id']).token}/cb", b"{}", "application/json")
    for name, value in ALLOWED.items():
        assert captured[name] == value


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "text/xml; charset=utf-8", "application/problem+json"]
)
def test_a_content_type_of_text_json_or_xml_is_allowed(inbox, content_type):
    inbox_update_script(inbox=inbox, answer_headers={"Content-Type": content_type})

    answer = Client().get(f"/inbox/{inbox.token}/")

    assert answer["Content-Type"] == content_type
    assert answer.get("Content-Security-Policy") == SANDBOX


def test_the_portal_script_form_refuses_the_hostile_headers(account, inbox):
    portal = signed_in(Client(), user=account.user, account=account.profile, mode="test")
    script = {
        "answer_status": "302",
        "answer_body": "<script>document.title = 'ran'</script>",
        "answer_headers": "\n".join(f"{name}: {value}" for name, value in HOSTILE.items()),
        "answer_delay_s": "0",
        "fail_count": "0",
        "fail_status": "500",
        "failure_rate": "0",
    }

    portal.post(f"/portal/inboxes/{inbox.id}/script", script)

    inbox.refresh_from_db()
    assert inbox.answer_headers == {}
    assert inbox.answer_status == 200
    page = portal.get(f"/portal/inboxes/{inbox.id}").content.decode()
    assert "a script may set" in page


def test_a_row_stored_before_the_rule_answers_inert(inbox):
    # Given a script stored before the allow-list existed (straight into the table)
    Inbox.objects.filter(pk=inbox.pk).update(
        answer_status=302,
        answer_body="<html><script>document.title = 'ran'</script></html>",
        answer_headers={**HOSTILE, "X-Kept": "yes"},
    )

    # When anybody opens its URL (a signed-in customer of another account, say)
    answer = Client().get(f"/inbox/{inbox.token}/page")

    # Then the status is the script's, but nothing in the answer is active or followed
    assert answer.status_code == 302
    assert_inert(answer)
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["X-Kept"] == "yes"
    # and the captured request records the answer as it went out
    stored = CapturedRequest.objects.get(inbox=inbox).answer["headers"]
    assert stored == {"X-Kept": "yes"}


def test_a_row_stored_before_the_rule_sets_no_cookie_for_a_signed_in_visitor(account, other_account, inbox):
    Inbox.objects.filter(pk=inbox.pk).update(answer_headers=HOSTILE)
    visitor = signed_in(Client(), user=other_account.user, account=other_account.profile, mode="test")
    session_before = visitor.cookies["sessionid"].value

    answer = visitor.get(f"/inbox/{inbox.token}/")

    assert_inert(answer)
    assert visitor.cookies["sessionid"].value == session_before


@pytest.mark.parametrize(
    "query",
    ["", "?status=503", "?body=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "?status=301&body=x", "?retry_after=5"],
)
def test_every_answer_is_nosniff_and_sandboxed(inbox, query):
    answer = Client().get(f"/inbox/{inbox.token}/{query}")

    assert_inert(answer)


def test_an_unknown_inbox_is_a_sandboxed_404():
    answer = Client().get("/inbox/no-such-token/")

    assert answer.status_code == 404
    assert_inert(answer)
