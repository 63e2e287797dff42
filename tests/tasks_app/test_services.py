"""The task lifecycle (SPEC §5): every (state, action) pair, and the callback of each event.

Actions go through the API (customer and operator routes) so that a refused
change is checked as the customer sees it: a 400 that changes nothing.
"""

import pytest
from django.db import DatabaseError
from django.utils import timezone

from callbacks_app.models import Delivery
from tasks_app import services
from tasks_app.errors import DuplicateUniqueId, TaskStateConflict
from tasks_app.models import Task
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

# A target is needed for deliveries to be created; nothing is sent in these tests.
UNSENT_TARGET = "http://127.0.0.1:9/callback"

STATES = ("pending", "completed", "error", "canceled")

# action name → (who, path suffix, body)
ACTIONS = {
    "complete": ("operator", "/v1/ops/task/{id}/complete", {"response": {"category": "blue"}}),
    "error": ("operator", "/v1/ops/task/{id}/error", {"error": "The image is blank."}),
    "fix": ("operator", "/v1/ops/task/{id}/fix", {"response": {"category": "blue"}}),
    "recall": ("operator", "/v1/ops/task/{id}/recall", {}),
    "cancel": ("customer", "/v1/task/{id}/cancel", {}),
    "accept": ("customer", "/v1/task/{id}/audit", {"accepted": True, "comments": "fine"}),
    "reject": ("customer", "/v1/task/{id}/audit", {"accepted": False, "comments": "wrong"}),
}

# (state, action) → what §5 says happens: new status, callback event, checks on the task
ALLOWED = {
    ("pending", "complete"): ("completed", Delivery.Event.COMPLETED),
    ("pending", "error"): ("error", Delivery.Event.ERROR),
    ("pending", "cancel"): ("canceled", None),
    ("completed", "fix"): ("completed", Delivery.Event.AUDITED),
    ("completed", "recall"): ("pending", Delivery.Event.RECALLED),
    ("completed", "accept"): ("completed", Delivery.Event.AUDITED),
    ("completed", "reject"): ("completed", Delivery.Event.AUDITED),
}

EXPECTED_TASK = {
    ("pending", "complete"): {"response": {"category": "blue"}, "completed_at_set": True},
    ("pending", "error"): {"response": {"error": "The image is blank."}},
    ("pending", "cancel"): {"response": None},
    ("completed", "fix"): {
        "response": {"category": "blue"},
        "prior_responses": [{"category": "red"}],
        "customer_review_status": "fixed",
        "audit": ("fixed", "scale"),
    },
    ("completed", "recall"): {
        "response": None,
        "prior_responses": [{"category": "red"}],
        "completed_at_set": False,
    },
    ("completed", "accept"): {
        "response": {"category": "red"},
        "customer_review_status": "accepted",
        "customer_review_comments": ["fine"],
        "audit": ("accepted", "customer"),
    },
    ("completed", "reject"): {
        "response": {"category": "red"},
        "customer_review_status": "rejected",
        "customer_review_comments": ["wrong"],
        "audit": ("rejected", "customer"),
    },
}


def task_in_state(owner, state: str, callback_url: str) -> Task:
    fields = {"status": state, "callback_url": callback_url, "owner": owner}
    if state == "completed":
        fields.update(response={"category": "red"}, completed_at=timezone.now())
    elif state == "error":
        fields.update(response={"error": "earlier failure"})
    return TaskFactory(**fields)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_state_and_action(state, action, account, customer, operator):
    # given a task of the customer in `state`, with a callback target
    task = task_in_state(account.user, state, UNSENT_TARGET)
    before = Task.objects.values().get(id=task.id)
    who, path, body = ACTIONS[action]
    client = operator if who == "operator" else customer

    # when the action is requested
    answer = client.post(path.format(id=task.id), body, format="json")

    # then it does what §5 says, or is a 400 that changes nothing
    deliveries = list(Delivery.objects.filter(task_id=task.id))
    if (state, action) not in ALLOWED:
        assert answer.status_code == 400, answer.json()
        assert answer.json()["status_code"] == 400
        assert state in answer.json()["error"]
        assert Task.objects.values().get(id=task.id) == before
        assert deliveries == []
        return
    new_status, event = ALLOWED[(state, action)]
    expected = EXPECTED_TASK[(state, action)]
    assert answer.status_code == 200, answer.json()
    shown = answer.json()
    assert shown["status"] == new_status
    assert shown["response"] == expected["response"]
    assert Task.objects.get(id=task.id).status == new_status
    assert [d.event for d in deliveries] == ([event] if event else [])
    if "completed_at_set" in expected:
        assert (shown["completed_at"] is not None) == expected["completed_at_set"]
    for field in ("prior_responses", "customer_review_comments"):
        if field in expected:
            assert shown[field] == expected[field]
    if "customer_review_status" in expected:
        assert shown["customer_review_status"] == expected["customer_review_status"]
    if "audit" in expected:
        (audit,) = shown["audits"]
        assert (audit["audit_result"], audit["audit_source"]) == expected["audit"]
        assert audit["audited_at"].endswith("Z")


def test_a_refused_service_call_raises_and_changes_nothing(account):
    # given a canceled task
    task = task_in_state(account.user, "canceled", "")
    before = Task.objects.values().get(id=task.id)

    # when the admin (or any caller) asks the service to complete it
    with pytest.raises(TaskStateConflict):
        services.task_complete(task_id=task.id, response={"category": "red"})

    # then nothing changed
    assert Task.objects.values().get(id=task.id) == before


def test_audits_accumulate_and_each_sends_a_callback(account):
    # given a completed task
    task = task_in_state(account.user, "completed", UNSENT_TARGET)

    # when the customer rejects it, an operator fixes it, and the customer accepts it
    services.task_audit(task_id=task.id, accepted=False, comments="not red")
    services.task_fix(task_id=task.id, response={"category": "blue"})
    task = services.task_audit(task_id=task.id, accepted=True)

    # then all three audits are recorded in order, with one audit callback each
    assert [a["audit_result"] for a in task.audits] == ["rejected", "fixed", "accepted"]
    assert task.customer_review_status == "accepted"
    assert task.customer_review_comments == ["not red"]
    assert task.prior_responses == [{"category": "red"}]
    assert Delivery.objects.filter(task=task, event=Delivery.Event.AUDITED).count() == 3


def test_fix_with_an_invalid_response_is_refused_and_changes_nothing(account, operator):
    task = task_in_state(account.user, "completed", "")
    before = Task.objects.values().get(id=task.id)

    answer = operator.post(f"/v1/ops/task/{task.id}/fix", {"response": {"category": "green"}}, format="json")

    assert answer.status_code == 400
    assert Task.objects.values().get(id=task.id) == before


def test_operator_error_needs_a_message(account, operator):
    task = task_in_state(account.user, "pending", "")

    answer = operator.post(f"/v1/ops/task/{task.id}/error", {"error": ""}, format="json")

    assert answer.status_code == 400
    assert Task.objects.get(id=task.id).status == "pending"


def test_recalled_task_can_be_completed_again(account):
    task = task_in_state(account.user, "completed", "")
    services.task_recall(task_id=task.id)

    task = services.task_complete(task_id=task.id, response={"category": "blue"})

    assert task.status == "completed"
    assert task.response == {"category": "blue"}
    assert task.prior_responses == [{"category": "red"}]


@pytest.mark.parametrize("action", ["complete", "error", "fix", "recall"])
def test_operator_routes_are_a_404_for_customers(action, account, customer):
    task = task_in_state(account.user, "pending" if action in ("complete", "error") else "completed", "")
    before = Task.objects.values().get(id=task.id)
    _, path, body = ACTIONS[action]

    answer = customer.post(path.format(id=task.id), body, format="json")

    assert answer.status_code == 404
    assert Task.objects.values().get(id=task.id) == before


@pytest.mark.parametrize("action", ["recall", "complete"])
@pytest.mark.parametrize("task_id", ["0123456789abcdef01234567", "not-a-task-id"])
def test_operator_route_on_an_unknown_task_is_a_404(operator, action, task_id):
    body = {"response": {"category": "red"}} if action == "complete" else {}
    answer = operator.post(f"/v1/ops/task/{task_id}/{action}", body, format="json")

    assert answer.status_code == 404
    assert answer.json() == {"status_code": 404, "error": f"No task with id {task_id}."}


# --- each event reaches a real receiver (SPEC §6.1) -------------------------------


def received_callback(receiver, task_id: str, event: str) -> dict:
    delivery = Delivery.objects.get(task_id=task_id, event=event)
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    (request,) = [r for r in receiver.requests if r.header("webhook-id") == delivery.id]
    assert request.header("scale-callback-event") == event
    return request.json()


def test_completed_callback_reaches_the_receiver(account, create_task, operator, receiver):
    task_id = create_task(callback_url=receiver.url)["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json")

    body = received_callback(receiver, task_id, Delivery.Event.COMPLETED)

    assert body["task_id"] == task_id
    assert body["status"] == "completed"
    assert body["response"] == {"category": "red"}
    assert body["task"]["completed_at"] is not None
    assert body["task"]["callback_url"] == receiver.url


def test_operator_error_callback_reaches_the_receiver(create_task, operator, receiver):
    task_id = create_task(callback_url=receiver.url)["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/error", {"error": "The text is unreadable."}, format="json")

    body = received_callback(receiver, task_id, Delivery.Event.ERROR)

    assert body["status"] == "error"
    assert body["response"] == {"error": "The text is unreadable."}
    assert body["task"]["status"] == "error"


@pytest.mark.parametrize("accepted, result", [(True, "accepted"), (False, "rejected")])
def test_customer_audit_callback_reaches_the_receiver(
    accepted, result, create_task, customer, operator, receiver
):
    task_id = create_task(callback_url=receiver.url)["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json")
    customer.post(f"/v1/task/{task_id}/audit", {"accepted": accepted, "comments": "checked"}, format="json")

    body = received_callback(receiver, task_id, Delivery.Event.AUDITED)

    assert body["status"] == "completed"
    assert body["response"] == {"category": "red"}
    assert body["task"]["customer_review_status"] == result
    assert body["task"]["customer_review_comments"] == ["checked"]
    (audit,) = body["task"]["audits"]
    assert audit["audit_result"] == result
    assert audit["audit_source"] == "customer"
    assert audit["audited_by"] == "customer@example.com"
    assert audit["comments"] == "checked"


def test_fixed_callback_reaches_the_receiver(create_task, operator, receiver):
    task_id = create_task(callback_url=receiver.url)["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json")
    operator.post(f"/v1/ops/task/{task_id}/fix", {"response": {"category": "blue"}}, format="json")

    body = received_callback(receiver, task_id, Delivery.Event.AUDITED)

    assert body["status"] == "completed"
    assert body["response"] == {"category": "blue"}
    assert body["task"]["prior_responses"] == [{"category": "red"}]
    assert body["task"]["customer_review_status"] == "fixed"
    assert body["task"]["audits"][-1]["audit_result"] == "fixed"


def test_recalled_callback_reaches_the_receiver(create_task, operator, receiver):
    task_id = create_task(callback_url=receiver.url)["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json")
    operator.post(f"/v1/ops/task/{task_id}/recall", {}, format="json")

    body = received_callback(receiver, task_id, Delivery.Event.RECALLED)

    assert body["status"] == "pending"
    assert body["response"] is None
    assert body["task"]["completed_at"] is None
    assert body["task"]["prior_responses"] == [{"category": "red"}]


def test_a_canceled_task_sends_no_callback(create_task, customer, receiver):
    task_id = create_task(callback_url=receiver.url)["task_id"]

    answer = customer.post(f"/v1/task/{task_id}/cancel", format="json")

    assert answer.json()["status"] == "canceled"
    assert not Delivery.objects.filter(task_id=task_id).exists()
    assert receiver.requests == []


# --- create: an integrity error is reported as the one it is ----------------------


def create(account, **fields):
    return services.task_create(
        owner=account.user,
        mode="live",
        task_type="categorization",
        fields={"unique_id": None, **fields},
        params={
            "attachment_type": "text",
            "attachment": "a",
            "categories": ["a", "b"],
            "allow_multiple": False,
        },
    )


def test_a_create_without_unique_id_failing_on_another_constraint_names_no_other_task(account):
    # given a task without unique_id, and a create that breaks another rule of the
    # database (infinity is no JSON: SQLite's JSON check, PostgreSQL's json input)
    create(account)

    # when / then: the database's own error, not "a task with unique_id None already exists"
    with pytest.raises(DatabaseError) as caught:
        create(account, metadata={"n": float("inf")})
    assert "unique_id" not in str(caught.value)
    assert Task.objects.count() == 1


def test_a_create_with_a_taken_unique_id_names_the_task_that_has_it(account):
    first = create(account, unique_id="u-1")
    create(account)

    with pytest.raises(DuplicateUniqueId) as caught:
        create(account, unique_id="u-1")
    assert caught.value.existing_task_id == first.id
