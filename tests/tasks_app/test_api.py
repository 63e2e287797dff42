"""The task API routes of the core loop: create, read, operator complete (SPEC §4, §5)."""

import pytest

from callbacks_app.models import Delivery
from tasks_app.models import Task

pytestmark = pytest.mark.django_db

CATEGORIZATION = {
    "instruction": "Is this object red or blue?",
    "attachment_type": "text",
    "attachment": "tomato",
    "categories": ["red", "blue"],
}


def test_create_categorization_returns_the_task_object(customer, receiver):
    answer = customer.post(
        "/v1/task/categorization", {**CATEGORIZATION, "callback_url": receiver.url}, format="json"
    )

    assert answer.status_code == 200
    task = answer.json()
    assert len(task["task_id"]) == 24 and int(task["task_id"], 16) >= 0
    assert task["status"] == "pending"
    assert task["type"] == "categorization"
    assert task["params"]["categories"] == ["red", "blue"]
    assert task["callback_url"] == receiver.url
    assert task["completed_at"] is None
    assert task["created_at"].endswith("Z")
    assert "callback_succeeded" not in task
    assert "unique_id" not in task
    assert task["is_test"] is False


def test_create_accepts_params_nested_under_params(customer):
    body = {"instruction": "x", "params": {k: v for k, v in CATEGORIZATION.items() if k != "instruction"}}

    answer = customer.post("/v1/task/categorization", body, format="json")

    assert answer.status_code == 200
    assert answer.json()["params"]["attachment"] == "tomato"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"categories": ["red"]}, "categories"),
        ({"categories": ["red", "red"]}, "categories"),
        ({"attachment_type": "hologram"}, "attachment_type"),
        ({"callback_url": "ftp://example.com/x"}, "callback_url"),
        ({"callback_url": "http://user:pw@example.com/x"}, "callback_url"),
        ({"callback_url": "http://10.0.0.1/x"}, "callback_url"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_create_with_invalid_input_is_a_400_naming_the_field(customer, change, field):
    answer = customer.post("/v1/task/categorization", {**CATEGORIZATION, **change}, format="json")

    assert answer.status_code == 400
    body = answer.json()
    assert body["status_code"] == 400
    assert field in body["details"]
    assert body["error"]
    assert not Task.objects.exists()


def test_unknown_task_type_is_a_400_listing_the_supported_types(customer):
    answer = customer.post("/v1/task/notatype", CATEGORIZATION, format="json")

    assert answer.status_code == 400
    assert "categorization" in answer.json()["error"]
    assert "imageannotation" in answer.json()["error"]


def test_a_scale_task_type_this_service_does_not_offer_is_a_402_listing_the_supported_types(customer):
    answer = customer.post("/v1/task/lidarannotation", CATEGORIZATION, format="json")

    assert answer.status_code == 402
    assert answer.json()["status_code"] == 402
    assert "lidarannotation" in answer.json()["error"]
    assert "imageannotation" in answer.json()["error"]
    assert not Task.objects.exists()


def test_malformed_json_is_a_400(customer):
    answer = customer.post("/v1/task/categorization", "{not json", content_type="application/json")

    assert answer.status_code == 400
    assert answer.json()["status_code"] == 400


def test_missing_or_wrong_key_is_a_401(api):
    assert api.post("/v1/task/categorization", CATEGORIZATION, format="json").status_code == 401
    answer = api.as_key("live_" + "0" * 32).get("/v1/task/0123456789abcdef01234567")
    assert answer.status_code == 401
    assert answer.json() == {"status_code": 401, "error": "Invalid API key."}
    assert answer["WWW-Authenticate"].startswith("Basic")


def test_get_task_returns_it_and_another_accounts_task_is_a_404(customer, api, other_account):
    task_id = customer.post("/v1/task/categorization", CATEGORIZATION, format="json").json()["task_id"]

    assert customer.get(f"/v1/task/{task_id}").json()["task_id"] == task_id
    other_keys = other_account.keys
    answer = api.as_key(other_keys.live_api_key).get(f"/v1/task/{task_id}")
    assert answer.status_code == 404
    assert answer.json()["status_code"] == 404


def test_test_key_does_not_see_live_tasks(customer, api, account):
    keys = account.keys
    task_id = customer.post("/v1/task/categorization", CATEGORIZATION, format="json").json()["task_id"]

    assert api.as_key(keys.test_api_key).get(f"/v1/task/{task_id}").status_code == 404


def test_operator_completes_a_task_and_a_delivery_is_recorded(customer, api, operator_account, receiver):
    task_id = customer.post(
        "/v1/task/categorization", {**CATEGORIZATION, "callback_url": receiver.url}, format="json"
    ).json()["task_id"]
    operator_keys = operator_account.keys
    answer = api.as_key(operator_keys.live_api_key).post(
        f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json"
    )

    assert answer.status_code == 200
    assert answer.json()["status"] == "completed"
    assert answer.json()["response"] == {"category": "red"}
    delivery = Delivery.objects.get(task_id=task_id)
    assert delivery.event == "task.completed"
    assert delivery.status == Delivery.Status.PENDING


def test_operator_route_is_a_404_for_customers(customer):
    task_id = customer.post("/v1/task/categorization", CATEGORIZATION, format="json").json()["task_id"]

    answer = customer.post(
        f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json"
    )

    assert answer.status_code == 404
    assert Task.objects.get(id=task_id).status == "pending"


def test_complete_with_a_response_outside_the_categories_is_a_400(customer, api, operator_account):
    task_id = customer.post("/v1/task/categorization", CATEGORIZATION, format="json").json()["task_id"]
    operator_keys = operator_account.keys
    answer = api.as_key(operator_keys.live_api_key).post(
        f"/v1/ops/task/{task_id}/complete", {"response": {"category": "green"}}, format="json"
    )

    assert answer.status_code == 400
    assert Task.objects.get(id=task_id).status == "pending"
    assert not Delivery.objects.exists()


def test_completing_twice_is_a_400_and_creates_no_second_delivery(customer, api, operator_account, receiver):
    task_id = customer.post(
        "/v1/task/categorization", {**CATEGORIZATION, "callback_url": receiver.url}, format="json"
    ).json()["task_id"]
    operator = api.as_key(operator_account.live_api_key)
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json")

    answer = operator.post(
        f"/v1/ops/task/{task_id}/complete", {"response": {"category": "blue"}}, format="json"
    )

    assert answer.status_code == 400
    assert "completed" in answer.json()["error"]
    assert Task.objects.get(id=task_id).response == {"category": "red"}
    assert Delivery.objects.count() == 1
