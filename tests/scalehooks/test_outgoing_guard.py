"""The address guard at send time (SPEC §8): nothing reaches a forbidden address."""

import socket

import pytest

from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.servers import Answer, CallbackReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def loopback_forbidden(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = []
    settings.CALLBACK_RETRY_SCHEDULE = []


def deliver_to(account, url) -> Delivery:
    # Saved directly, as a target that passed validation earlier (a name, or an
    # address allowed before the operator changed the setting) would be.
    task = TaskFactory(owner=account.user, callback_url=url)
    task_complete(task_id=task.id, response={"category": "red"})
    return deliver_until_finished(Delivery.objects.get(task=task).id)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        # reserved and site-local IPv6; IPv4 embedded in ::/96 and ::ffff:0:0:0/96 judged as IPv4
        "[::127.0.0.1]",
        "[::7f00:1]",
        "[fec0::1]",
        "[::ffff:0:127.0.0.1]",
        "[::a9fe:a9fe]",
    ],
)
def test_forbidden_address_in_any_form_is_refused_and_not_contacted(
    account, receiver, loopback_forbidden, host
):
    delivery = deliver_to(account, f"http://{host}:{receiver.port}/callback")

    attempt = delivery.attempts.get()
    assert attempt.error.startswith("Refused:")
    assert attempt.status_code is None
    assert delivery.status == Delivery.Status.FAILED
    assert receiver.requests == []


def test_allowed_network_opens_only_that_network(account, settings):
    settings.CALLBACK_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    settings.CALLBACK_RETRY_SCHEDULE = []
    allowed, forbidden = CallbackReceiver("127.0.0.2"), CallbackReceiver("127.0.0.1")
    try:
        ok = deliver_to(account, allowed.url)
        refused = deliver_to(account, forbidden.url)
    finally:
        allowed.close()
        forbidden.close()

    assert ok.status == Delivery.Status.SUCCEEDED
    assert refused.status == Delivery.Status.FAILED
    assert len(allowed.requests) == 1
    assert forbidden.requests == []


def test_redirect_to_a_private_address_is_not_followed(account, settings):
    settings.CALLBACK_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    settings.CALLBACK_RETRY_SCHEDULE = []
    redirecting, private = CallbackReceiver("127.0.0.2"), CallbackReceiver("127.0.0.1")
    redirecting.answer(Answer(302, headers={"Location": private.url}))
    try:
        delivery = deliver_to(account, redirecting.url)
    finally:
        redirecting.close()
        private.close()

    assert delivery.attempts.get().status_code == 302
    assert private.requests == []


def test_dns_rebinding_cannot_redirect_the_connection(account, settings, monkeypatch):
    """The name resolves to an allowed address once, then to a forbidden one:
    the connection goes to the address that was checked, never the second."""
    settings.CALLBACK_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    settings.CALLBACK_RETRY_SCHEDULE = []
    checked = CallbackReceiver("127.0.0.2")
    rebound = CallbackReceiver("127.0.0.1", port=checked.port)  # where a second lookup would lead
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def rebinding_resolver(host, port, *args, **kwargs):
        if host == "rebind.example":
            return real_getaddrinfo(next(answers, "127.0.0.1"), port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_resolver)
    try:
        delivery = deliver_to(account, f"http://rebind.example:{checked.port}/callback")
    finally:
        checked.close()
        rebound.close()

    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(checked.requests) == 1
    assert checked.requests[0].header("Host") == f"rebind.example:{checked.port}"
    assert rebound.requests == []


def test_name_resolving_to_a_forbidden_address_is_refused(
    account, receiver, loopback_forbidden, monkeypatch, caplog
):
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: real_getaddrinfo(
            "10.1.2.3" if host == "internal.example" else host, port, *a, **k
        ),
    )

    delivery = deliver_to(account, f"http://internal.example:{receiver.port}/callback")

    # The record (shown to the customer) names the host, not what it resolves to; the operator's log does.
    error = delivery.attempts.get().error
    assert error == "Refused: internal.example does not resolve to an allowed address; not sent"
    assert "10.1.2.3" not in error
    assert "internal.example resolves to 10.1.2.3" in caplog.text


def test_a_connection_error_names_the_host_not_the_address_it_resolved_to(account, settings, monkeypatch):
    settings.CALLBACK_RETRY_SCHEDULE = []
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: real_getaddrinfo(
            "127.0.0.1" if host == "hooks.example" else host, port, *a, **k
        ),
    )

    delivery = deliver_to(account, f"http://hooks.example:{port}/callback")

    error = delivery.attempts.get().error
    assert error.startswith("ConnectionError") and "hooks.example" in error
    assert "127.0.0.1" not in error
