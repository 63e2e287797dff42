"""Deeply nested JSON at every place that parses JSON from outside (SPEC §8 "Input", §15;
issue 25 F9): a 4xx in the error shape, a form error, or (an inbox, which never answers a 5xx)
a captured request with its body kept and marked not JSON. Never a 500.

Python's ``json`` raises ``RecursionError`` (not a ``ValueError``) around 1,000 levels, which
a ``except ValueError`` lets through."""

import base64

import pytest
from django.test import Client
from django.urls import reverse

from inbox_app.models import CapturedRequest
from inbox_app.services import inbox_create, inbox_update_script
from tasks_app.models import Task
from tests.factories import DeliveryFactory, TaskFactory
from tests.portal_app.conftest import signed_in

pytestmark = pytest.mark.django_db

DEPTH = 100_000
OPEN = b"[" * DEPTH  # never closed
BALANCED = b"[" * DEPTH + b"]" * DEPTH
DEEP_BUT_PARSABLE = b"[" * 200 + b"]" * 200  # Python parses it; deeper than the limit of 64


def client() -> Client:
    """A client that answers a view's exception with a 500, as a server does, instead of raising."""
    return Client(raise_request_exception=False)


def assert_error_shape(answer, status: int = 400) -> None:
    assert answer.status_code == status, answer.content[:300]
    assert answer.json()["status_code"] == status
    assert answer.json()["error"]


# --- the API's parser --------------------------------------------------------------------


@pytest.fixture
def api_routes(customer, account, operator):
    inbox = customer.post("/v1/inboxes", {"name": "deep"}, format="json").json()
    pending = TaskFactory(owner=account.user)
    return {
        "create task": (customer, "post", "/v1/task/categorization"),
        "set metadata": (customer, "post", f"/v1/task/{pending.id}/setMetadata"),
        "patch profile": (customer, "patch", "/v1/profile"),
        "create inbox": (customer, "post", "/v1/inboxes"),
        "inbox script": (customer, "patch", f"/v1/inboxes/{inbox['id']}"),
        "file import": (customer, "post", "/v1/files/import"),
        "portal session": (customer, "post", "/v1/portal/sessions"),
        "operator complete": (operator, "post", f"/v1/ops/task/{pending.id}/complete"),
    }


@pytest.mark.parametrize("body", [OPEN, BALANCED, DEEP_BUT_PARSABLE], ids=["open", "balanced", "200"])
@pytest.mark.parametrize(
    "route",
    [
        "create task",
        "set metadata",
        "patch profile",
        "create inbox",
        "inbox script",
        "file import",
        "portal session",
        "operator complete",
    ],
)
def test_the_api_answers_nested_json_with_a_400(api_routes, route, body):
    api, method, path = api_routes[route]
    api.raise_request_exception = False

    answer = getattr(api, method)(path, body, content_type="application/json")

    assert_error_shape(answer)
    assert "nested deeper than 64 levels" in answer.json()["error"]


def test_a_nested_next_token_is_a_400(customer):
    token = base64.urlsafe_b64encode(b"[" * 740).decode().rstrip("=")  # the longest next_token taken
    customer.raise_request_exception = False

    answer = customer.get("/v1/tasks", {"next_token": token})

    assert_error_shape(answer)
    assert answer.json()["details"] == {"next_token": ["Invalid next_token."]}


# --- the inbox ---------------------------------------------------------------------------


@pytest.fixture
def inbox(account):
    return inbox_create(profile=account.profile, mode="test", name="deep")


@pytest.mark.parametrize("body", [OPEN, BALANCED, DEEP_BUT_PARSABLE], ids=["open", "balanced", "200"])
def test_an_inbox_captures_nested_json_and_marks_it_not_json(inbox, body):
    answer = client().post(f"/inbox/{inbox.token}/cb", body, content_type="application/json")

    assert answer.status_code == 200
    captured = CapturedRequest.objects.get(inbox=inbox)
    assert bytes(captured.body) == body
    assert captured.verification["payload_shape_ok"] is False
    assert "the body is not JSON" in captured.verification["reasons"][-1]


def test_an_inbox_answers_a_nested_query_body_as_text(inbox):
    answer = client().get(f"/inbox/{inbox.token}/cb", {"body": "[" * 4096})

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.content == b"[" * 4096
    assert CapturedRequest.objects.filter(inbox=inbox).count() == 1


def test_an_inbox_answers_a_nested_scripted_body_as_text(inbox):
    inbox_update_script(inbox=inbox, answer_body="[" * 60_000)

    answer = client().post(f"/inbox/{inbox.token}/cb", b"{}", content_type="application/json")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; charset=utf-8"


# --- the portal and the admin ------------------------------------------------------------


def test_the_portals_callbacks_list_refuses_a_nested_cursor(account):
    portal = signed_in(client(), user=account.user, account=account.profile, mode="test")
    DeliveryFactory(task=TaskFactory(owner=account.user, is_test=True), owner=account.user)
    cursor = base64.urlsafe_b64encode(b"[" * DEPTH).decode().rstrip("=")

    answer = portal.get("/portal/callbacks", {"cursor": cursor})

    assert answer.status_code == 302
    assert "Invalid cursor" in portal.get(answer["Location"]).content.decode()


@pytest.mark.parametrize("body", [OPEN, BALANCED, DEEP_BUT_PARSABLE], ids=["open", "balanced", "200"])
def test_the_admins_response_form_refuses_nested_json(admin_client, account, body):
    task = TaskFactory(owner=account.user)
    admin_client.raise_request_exception = False

    response = b'{"category": ' + body + b"}"

    answer = admin_client.post(
        reverse("admin:tasks_app_task_complete", args=[task.id]), {"response": response.decode()}
    )

    assert answer.status_code == 200
    assert "nested deeper than 64 levels" in str(answer.context["form"].errors["response"])
    assert Task.objects.get(id=task.id).status == Task.Status.PENDING
