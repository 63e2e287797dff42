"""The customer routes of §3 and §4 beyond create/read: idempotency, unique_id,
metadata, tags, profile, and tenant isolation on every route."""

import pytest

from callbacks_app.models import Delivery
from tasks_app.models import IdempotencyKey, Profile, Task, TaskTag
from tests.tasks_app.conftest import CATEGORIZATION

pytestmark = pytest.mark.django_db


# --- Idempotency-Key ----------------------------------------------------------------


def test_create_retried_with_the_same_idempotency_key_returns_the_first_task(customer):
    first = customer.post(
        "/v1/task/categorization", CATEGORIZATION, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    again = customer.post(
        "/v1/task/categorization", CATEGORIZATION, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert again.status_code == 200
    assert again.json() == first.json()
    assert Task.objects.count() == 1


def test_idempotency_key_reused_for_a_different_request_is_a_409(customer):
    first = customer.post(
        "/v1/task/categorization", CATEGORIZATION, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    other = customer.post(
        "/v1/task/categorization",
        {**CATEGORIZATION, "attachment": "sky"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert other.status_code == 409
    assert first.json()["task_id"] in other.json()["error"]
    assert Task.objects.count() == 1


def test_idempotency_keys_are_per_mode(customer, customer_test_mode):
    live = customer.post("/v1/task/categorization", CATEGORIZATION, format="json", HTTP_IDEMPOTENCY_KEY="k")

    test = customer_test_mode.post(
        "/v1/task/categorization", CATEGORIZATION, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert test.status_code == 200
    assert test.json()["task_id"] != live.json()["task_id"]
    assert test.json()["is_test"] is True


def test_a_failed_create_stores_no_idempotency_key(customer):
    customer.post(
        "/v1/task/categorization",
        {**CATEGORIZATION, "categories": ["x"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    fixed = customer.post("/v1/task/categorization", CATEGORIZATION, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert fixed.status_code == 200
    assert IdempotencyKey.objects.get().task_id == fixed.json()["task_id"]


# --- unique_id ----------------------------------------------------------------------


def test_duplicate_unique_id_is_a_409_naming_the_existing_task(customer, create_task):
    existing = create_task(unique_id="order-1")["task_id"]

    answer = customer.post(
        "/v1/task/categorization", {**CATEGORIZATION, "unique_id": "order-1"}, format="json"
    )

    assert answer.status_code == 409
    assert existing in answer.json()["error"]
    assert Task.objects.count() == 1


def test_the_same_unique_id_is_free_in_the_other_mode_and_account(
    api, customer_test_mode, other_account, create_task
):
    create_task(unique_id="order-1")

    in_test_mode = customer_test_mode.post(
        "/v1/task/categorization", {**CATEGORIZATION, "unique_id": "order-1"}, format="json"
    )
    other = api.as_key(other_account.live_api_key).post(
        "/v1/task/categorization", {**CATEGORIZATION, "unique_id": "order-1"}, format="json"
    )

    assert in_test_mode.status_code == 200
    assert other.status_code == 200


def test_set_and_clear_unique_id(customer, create_task):
    task_id = create_task()["task_id"]

    set_answer = customer.post(f"/v1/task/{task_id}/unique_id", {"unique_id": "u-9"}, format="json")
    cleared = customer.delete(f"/v1/task/{task_id}/unique_id")

    assert set_answer.json()["unique_id"] == "u-9"
    assert "unique_id" not in cleared.json()
    assert Task.objects.get(id=task_id).unique_id is None


def test_setting_a_unique_id_in_use_is_a_409(customer, create_task):
    holder = create_task(unique_id="taken")["task_id"]
    task_id = create_task()["task_id"]

    answer = customer.post(f"/v1/task/{task_id}/unique_id", {"unique_id": "taken"}, format="json")

    assert answer.status_code == 409
    assert holder in answer.json()["error"]
    assert Task.objects.get(id=task_id).unique_id is None


def test_cancel_with_clear_unique_id_frees_it(customer, create_task):
    task_id = create_task(unique_id="u-1")["task_id"]

    answer = customer.post(f"/v1/task/{task_id}/cancel?clear_unique_id=true")

    assert answer.json()["status"] == "canceled"
    assert "unique_id" not in answer.json()
    assert (
        customer.post(
            "/v1/task/categorization", {**CATEGORIZATION, "unique_id": "u-1"}, format="json"
        ).status_code
        == 200
    )


def test_cancel_keeps_the_unique_id_by_default(customer, create_task):
    task_id = create_task(unique_id="u-1")["task_id"]

    answer = customer.post(f"/v1/task/{task_id}/cancel")

    assert answer.json()["unique_id"] == "u-1"


# --- metadata and tags ----------------------------------------------------------------


def test_set_metadata_replaces_it(customer, create_task):
    task_id = create_task(metadata={"a": 1})["task_id"]

    answer = customer.post(f"/v1/task/{task_id}/setMetadata", {"b": {"c": [1, 2]}}, format="json")

    assert answer.json()["metadata"] == {"b": {"c": [1, 2]}}
    assert Task.objects.get(id=task_id).metadata == {"b": {"c": [1, 2]}}


def test_set_metadata_with_a_non_object_is_a_400(customer, create_task):
    task_id = create_task(metadata={"a": 1})["task_id"]

    answer = customer.post(f"/v1/task/{task_id}/setMetadata", [1, 2], format="json")

    assert answer.status_code == 400
    assert Task.objects.get(id=task_id).metadata == {"a": 1}


def test_tags_set_add_and_delete(customer, create_task):
    task_id = create_task(tags=["a"])["task_id"]
    url = f"/v1/task/{task_id}/tags"

    assert customer.post(url, ["x", "y"], format="json").json()["tags"] == ["x", "y"]
    assert customer.put(url, ["y", "z"], format="json").json()["tags"] == ["x", "y", "z"]
    assert customer.delete(url, ["x", "absent"], format="json").json()["tags"] == ["y", "z"]
    assert sorted(TaskTag.objects.filter(task_id=task_id).values_list("name", flat=True)) == ["y", "z"]


def test_tags_that_are_not_a_list_of_strings_are_a_400(customer, create_task):
    task_id = create_task(tags=["a"])["task_id"]

    answer = customer.post(f"/v1/task/{task_id}/tags", {"tags": "a"}, format="json")

    assert answer.status_code == 400
    assert Task.objects.get(id=task_id).tags == ["a"]


def test_audit_accepts_null_comments_as_the_client_sends_them(customer, create_task, operator):
    task_id = create_task()["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json")

    answer = customer.post(f"/v1/task/{task_id}/audit", {"accepted": True, "comments": None}, format="json")

    assert answer.status_code == 200
    assert answer.json()["customer_review_comments"] == []


# --- profile ----------------------------------------------------------------------------


def test_profile_shows_the_callback_settings_of_the_keys_mode(account, customer, customer_test_mode):
    profile = account.profile

    live = customer.get("/v1/profile").json()
    test = customer_test_mode.get("/v1/profile").json()

    assert live == {
        "email": "customer@example.com",
        "default_callback_url": "",
        "callback_auth_key": profile.live_callback_auth_key,
        "signing_secret": profile.live_signing_secret,
        "test_tasks_autocomplete": True,
    }
    assert test["callback_auth_key"] == profile.test_callback_auth_key
    assert test["signing_secret"] == profile.test_signing_secret


def test_patch_profile_turns_test_tasks_autocomplete_off_and_keeps_the_callback_url(account, customer):
    customer.patch("/v1/profile", {"default_callback_url": "https://example.com/hook"}, format="json")

    answer = customer.patch("/v1/profile", {"test_tasks_autocomplete": False}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["test_tasks_autocomplete"] is False
    assert answer.json()["default_callback_url"] == "https://example.com/hook"
    profile = Profile.objects.get(id=account.profile.id)
    assert profile.test_tasks_autocomplete is False
    assert profile.live_default_callback_url == "https://example.com/hook"


@pytest.mark.parametrize("body", [{}, {"test_tasks_autocomplete": "no"}])
def test_patch_profile_needs_a_valid_field(customer, body):
    answer = customer.patch("/v1/profile", body, format="json")

    assert answer.status_code == 400


def test_patch_profile_sets_the_default_callback_url(account, customer):
    answer = customer.patch(
        "/v1/profile", {"default_callback_url": "https://example.com/hook"}, format="json"
    )

    assert answer.status_code == 200
    assert answer.json()["default_callback_url"] == "https://example.com/hook"
    assert Profile.objects.get(id=account.profile.id).live_default_callback_url == "https://example.com/hook"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http://169.254.169.254/latest", "http://u:p@example.com/"]
)
def test_patch_profile_with_a_forbidden_url_is_a_400(account, customer, url):
    answer = customer.patch("/v1/profile", {"default_callback_url": url}, format="json")

    assert answer.status_code == 400
    assert "default_callback_url" in answer.json()["details"]
    assert Profile.objects.get(id=account.profile.id).live_default_callback_url == ""


def test_rotate_callback_auth_key_changes_only_the_keys_mode(account, customer_test_mode):
    before = Profile.objects.get(id=account.profile.id)

    answer = customer_test_mode.post("/v1/profile/rotate_callback_auth_key")

    after = Profile.objects.get(id=account.profile.id)
    assert answer.status_code == 200
    assert answer.json()["callback_auth_key"] == after.test_callback_auth_key != before.test_callback_auth_key
    assert after.live_callback_auth_key == before.live_callback_auth_key


def test_profile_needs_a_key(api):
    assert api.get("/v1/profile").status_code == 401


# --- tenant isolation on every route -------------------------------------------------

TASK_ROUTES = [
    ("get", "/v1/task/{id}", None),
    ("post", "/v1/task/{id}/cancel", None),
    ("post", "/v1/task/{id}/audit", {"accepted": True}),
    ("post", "/v1/task/{id}/unique_id", {"unique_id": "mine"}),
    ("delete", "/v1/task/{id}/unique_id", None),
    ("post", "/v1/task/{id}/setMetadata", {"k": "v"}),
    ("post", "/v1/task/{id}/tags", ["t"]),
    ("put", "/v1/task/{id}/tags", ["t"]),
    ("delete", "/v1/task/{id}/tags", ["t"]),
]


@pytest.fixture(params=["other account", "test key"])
def outsider(request, api, account, other_account):
    if request.param == "other account":
        return api.as_key(other_account.live_api_key)
    return api.as_key(account.test_api_key)


@pytest.mark.parametrize("method, path, body", TASK_ROUTES)
def test_a_task_outside_the_keys_account_and_mode_is_a_404_on_every_route(
    outsider, create_task, operator, method, path, body
):
    # given a completed live task of the customer (every action would be allowed)
    task_id = create_task(unique_id="u", tags=["t"], callback_url="http://127.0.0.1:9/cb")["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "red"}}, format="json")
    before = Task.objects.values().get(id=task_id)

    # when another account or the other mode's key uses the route
    answer = getattr(outsider, method)(path.format(id=task_id), body, format="json")

    # then it is a 404 and nothing changed
    assert answer.status_code == 404
    assert answer.json() == {"status_code": 404, "error": f"No task with id {task_id}."}
    assert Task.objects.values().get(id=task_id) == before
    assert Delivery.objects.filter(task_id=task_id).count() == 1


def test_wrong_method_is_a_405(customer, create_task):
    task_id = create_task()["task_id"]

    answer = customer.get(f"/v1/task/{task_id}/cancel")

    assert answer.status_code == 405
    assert answer.json()["status_code"] == 405
