"""Request limits and error pages of the API (SPEC §4, §8)."""

import pytest

from tasks_app.models import Task

pytestmark = pytest.mark.django_db

BODY = {"attachment": "tomato", "categories": ["red", "blue"]}


def test_body_over_the_limit_is_a_413_and_creates_nothing(customer, settings):
    settings.API_MAX_BODY_BYTES = 1000

    answer = customer.post("/v1/task/categorization", {**BODY, "instruction": "x" * 2000}, format="json")

    assert answer.status_code == 413
    assert answer.json()["status_code"] == 413
    assert "1000" in answer.json()["error"]
    assert not Task.objects.exists()


def test_requests_over_the_rate_are_a_429_with_retry_after(customer, settings):
    settings.API_THROTTLE_RATE = "3/min"

    answers = [customer.get("/v1/task/0123456789abcdef01234567") for _ in range(4)]

    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert answers[-1].json()["status_code"] == 429
    assert int(answers[-1]["Retry-After"]) > 0


def test_rate_is_counted_per_key(api, account, settings):
    settings.API_THROTTLE_RATE = "1/min"
    live, test = api.as_key(account.live_api_key), api.as_key(account.test_api_key)

    assert live.get("/v1/task/0123456789abcdef01234567").status_code == 404
    assert test.get("/v1/task/0123456789abcdef01234567").status_code == 404
    assert live.get("/v1/task/0123456789abcdef01234567").status_code == 429


def test_unknown_api_route_is_a_json_404(customer):
    answer = customer.get("/v1/no/such/route")

    assert answer.status_code == 404
    assert answer.json() == {"status_code": 404, "error": "Not found."}


def test_wrong_method_is_a_json_405(customer):
    answer = customer.delete("/v1/task/categorization")

    assert answer.status_code == 405
    assert answer.json()["status_code"] == 405
