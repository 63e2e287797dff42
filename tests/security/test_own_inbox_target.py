"""The one exception of the address guard (SPEC §15): this service's own inboxes at PUBLIC_BASE_URL.

A callback whose target is exactly ``PUBLIC_BASE_URL``'s origin, under its
``/inbox/``, is sent even though that origin is loopback here and
``CALLBACK_ALLOWED_NETWORKS`` opens nothing. Anything else on that origin, or
anything dressed up to look like it, stays refused and is never contacted.
"""

import pytest
from django.core.exceptions import ValidationError

from callbacks_app.transport import send_callback_http
from scalehooks.outgoing import ForbiddenAddress, outgoing_session
from scalehooks.outgoing.policy import is_own_inbox_url
from tasks_app.validators import validate_callback_target
from tests.servers import CallbackReceiver

BASE = "http://127.0.0.1:8000"

NOT_AN_INBOX = [
    f"{BASE}/admin/",
    f"{BASE}/inbox/",
    f"{BASE}/inbox",
    f"{BASE}/inbox/../admin/",
    f"{BASE}/inbox/tok/../../admin/",
    f"{BASE}/inbox/./tok",
    f"{BASE}/inbox/%2e%2e/admin/",
    f"{BASE}/inbox/%2E%2E/admin/",
    f"{BASE}/inbox/tok%2f..%2f..%2fadmin",
    f"{BASE}/inbox//tok",
    f"{BASE}//inbox/tok",
    f"{BASE}/inbox/tok\\..\\admin",
    f"{BASE}/v1/inbox/tok",
    "http://127.0.0.1:8000@evil.example/inbox/tok",
    "http://user@127.0.0.1:8000/inbox/tok",
    "http://user:pw@127.0.0.1:8000/inbox/tok",
    "http://127.0.0.1:8001/inbox/tok",
    "http://127.0.0.1/inbox/tok",
    "https://127.0.0.1:8000/inbox/tok",
    "http://127.0.0.2:8000/inbox/tok",
    "http://localhost:8000/inbox/tok",
    "http://2130706433:8000/inbox/tok",
    "http://[::1]:8000/inbox/tok",
    "http://127.0.0.1.:8000/inbox/tok",
    "http://127.0.0.1:8000.evil.example/inbox/tok",
    "http://evil.example/inbox/tok",
    "not a url",
    "http://[127.0.0.1:8000/inbox/tok",
]


@pytest.fixture
def public_base(settings):
    settings.PUBLIC_BASE_URL = BASE
    settings.CALLBACK_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "url",
    [f"{BASE}/inbox/tok", f"{BASE}/inbox/tok/", f"{BASE}/inbox/tok/any/path?status=503", f"{BASE}/inbox/a.b"],
)
def test_an_inbox_url_of_this_service_is_its_own(public_base, url):
    assert is_own_inbox_url(url)


@pytest.mark.parametrize("url", NOT_AN_INBOX)
def test_anything_else_is_not_an_inbox(public_base, url):
    assert not is_own_inbox_url(url)


def test_a_base_url_with_a_path_puts_the_inboxes_under_it(settings):
    settings.PUBLIC_BASE_URL = "https://hooks.example.com/scalehooks/"

    assert is_own_inbox_url("https://hooks.example.com/scalehooks/inbox/tok")
    assert not is_own_inbox_url("https://hooks.example.com/inbox/tok")


@pytest.fixture
def service(settings):
    """A real server on loopback standing for this service, PUBLIC_BASE_URL pointing at it."""
    server = CallbackReceiver("127.0.0.1")
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{server.port}"
    settings.CALLBACK_ALLOWED_NETWORKS = []
    yield server
    server.close()


def test_the_sender_reaches_an_inbox_of_this_service_on_loopback(service):
    answer = outgoing_session().post(f"http://127.0.0.1:{service.port}/inbox/tok/cb", data=b"{}")

    assert answer.status_code == 200
    assert [r.path for r in service.requests] == ["/inbox/tok/cb"]


@pytest.mark.parametrize(
    "path", ["/admin/", "/inbox/../admin/", "/inbox/%2e%2e/admin/", "/inbox//tok", "/callback"]
)
def test_the_sender_refuses_any_other_path_of_this_service(service, path):
    with pytest.raises(ForbiddenAddress):
        outgoing_session().post(f"http://127.0.0.1:{service.port}{path}", data=b"{}")

    assert service.requests == []


def test_the_sender_refuses_another_port_or_another_loopback_address(service):
    other_port = CallbackReceiver("127.0.0.1")
    other_address = CallbackReceiver("127.0.0.2", port=service.port)
    try:
        for url in (
            f"http://127.0.0.1:{other_port.port}/inbox/tok",
            f"http://127.0.0.2:{service.port}/inbox/tok",
            f"http://localhost:{service.port}/inbox/tok",
        ):
            with pytest.raises(ForbiddenAddress):
                outgoing_session().post(url, data=b"{}")
    finally:
        other_port.close()
        other_address.close()

    assert other_port.requests == other_address.requests == service.requests == []


def test_user_info_naming_this_service_does_not_open_the_guard(service):
    elsewhere = CallbackReceiver("127.0.0.2", port=service.port)
    try:
        with pytest.raises(ForbiddenAddress):
            outgoing_session().post(f"http://127.0.0.1:{service.port}@127.0.0.2:{service.port}/inbox/t")
    finally:
        elsewhere.close()

    assert service.requests == elsewhere.requests == []


def test_an_inbox_url_is_a_valid_callback_target_at_save_time(public_base):
    assert validate_callback_target(f"{BASE}/inbox/tok") == f"{BASE}/inbox/tok"


@pytest.mark.parametrize(
    "url", [f"{BASE}/admin/", f"{BASE}/inbox/../admin/", "http://127.0.0.1:8001/inbox/t"]
)
def test_another_url_of_this_origin_is_refused_at_save_time(public_base, url):
    with pytest.raises(ValidationError):
        validate_callback_target(url)


def callback_post(url: str):
    """One callback attempt through the engine's sender (the asynchronous one, issue 15)."""
    return send_callback_http(url=url, body=b"{}", headers={"Content-Type": "application/json"})


def test_the_callback_sender_reaches_an_inbox_of_this_service_on_loopback(service):
    result = callback_post(f"http://127.0.0.1:{service.port}/inbox/tok/cb")

    assert result.ok, result.error
    assert [r.path for r in service.requests] == ["/inbox/tok/cb"]


@pytest.mark.parametrize(
    "path", ["/admin/", "/inbox/../admin/", "/inbox/%2e%2e/admin/", "/inbox//tok", "/callback"]
)
def test_the_callback_sender_refuses_any_other_path_even_after_an_inbox_request(service, path):
    # An inbox's connection to this origin, kept alive, must not carry a request the guard refuses.
    assert callback_post(f"http://127.0.0.1:{service.port}/inbox/tok/cb").ok

    result = callback_post(f"http://127.0.0.1:{service.port}{path}")

    assert not result.ok
    assert "Refused" in result.error
    assert [r.path for r in service.requests] == ["/inbox/tok/cb"]


def test_the_callback_sender_refuses_another_port_or_another_loopback_address(service):
    other_port = CallbackReceiver("127.0.0.1")
    other_address = CallbackReceiver("127.0.0.2", port=service.port)
    try:
        for url in (
            f"http://127.0.0.1:{other_port.port}/inbox/tok",
            f"http://127.0.0.2:{service.port}/inbox/tok",
            f"http://localhost:{service.port}/inbox/tok",
            f"http://127.0.0.1:{service.port}@127.0.0.2:{service.port}/inbox/t",
        ):
            assert not callback_post(url).ok
    finally:
        other_port.close()
        other_address.close()

    assert other_port.requests == other_address.requests == service.requests == []
