"""A refusal never tells whether or how a name resolved (SPEC §8; issue 25 F12).

An account that points a callback or a file import at a name must not learn
from the answer whether the name exists inside the network: a name that
resolves to a forbidden address and a name that resolves to nothing read the
same in the attempt record (API, portal), the target's health and the file
import's 400. The operator's log keeps the detail.
"""

import logging
import socket

import pytest

from callbacks_app.models import Delivery, TargetHealth
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)

INTERNAL = "internal.example"  # resolves to an address callbacks may not reach
NOWHERE = "nowhere.invalid"  # resolves to nothing (RFC 2606: .invalid never resolves)


@pytest.fixture
def internal_name(settings, monkeypatch):
    """``internal.example`` resolves to 10.1.2.3, a private address (the system resolver's answer
    for that name only); loopback is allowed as in the rest of the suite, 10/8 is not."""
    settings.CALLBACK_RETRY_SCHEDULE = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real_getaddrinfo("10.1.2.3" if host == INTERNAL else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def attempt_error(account, host: str) -> str:
    task = TaskFactory(owner=account.user, callback_url=f"http://{host}:8080/callback")
    task_complete(task_id=task.id, response={"category": "red"})
    delivery = deliver_until_finished(Delivery.objects.get(task=task).id)
    return delivery.attempts.get().error


def as_any_host(text: str, host: str) -> str:
    return text.replace(host, "HOST")


def test_a_callback_to_a_name_reads_the_same_whether_it_resolves_to_a_forbidden_address_or_to_none(
    account, internal_name, customer, caplog
):
    caplog.set_level(logging.INFO)

    forbidden = attempt_error(account, INTERNAL)
    unresolved = attempt_error(account, NOWHERE)

    assert as_any_host(forbidden, INTERNAL) == as_any_host(unresolved, NOWHERE)
    assert forbidden.startswith("Refused:")
    health = {row.origin: row.last_error_class for row in TargetHealth.objects.all()}
    assert health[f"http://{INTERNAL}:8080"] == health[f"http://{NOWHERE}:8080"]
    # The operator's log keeps what happened to each.
    assert f"{INTERNAL} resolves to 10.1.2.3" in caplog.text
    assert f"{NOWHERE} does not resolve" in caplog.text


def test_a_file_import_from_a_name_reads_the_same_whether_it_resolves_to_a_forbidden_address_or_to_none(
    internal_name, customer
):
    forbidden = customer.post(
        "/v1/files/import", {"file_url": f"http://{INTERNAL}/secret.png"}, format="json"
    )
    unresolved = customer.post(
        "/v1/files/import", {"file_url": f"http://{NOWHERE}/secret.png"}, format="json"
    )

    assert forbidden.status_code == unresolved.status_code == 400
    assert as_any_host(forbidden.content.decode(), INTERNAL) == as_any_host(
        unresolved.content.decode(), NOWHERE
    )
