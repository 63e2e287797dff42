"""``GET /v1/callback_targets`` and pause/resume (SPEC §16): scoped to the key's account and mode."""

import pytest

from callbacks_app.models import Delivery, TargetHealth
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


def deliver(account, url: str, *, test_mode: bool = False) -> None:
    task = TaskFactory(owner=account.user, callback_url=url, is_test=test_mode)
    task_complete(task_id=task.id, response={"category": "red"})
    deliver_until_finished(Delivery.objects.get(task=task).id)


def test_callback_targets_lists_the_health_figures_of_the_keys_mode(customer, account, receiver):
    receiver.answer(Answer(500, b"nope"), Answer(200))
    deliver(account, receiver.url)

    answer = customer.get("/v1/callback_targets")

    assert answer.status_code == 200
    (target,) = answer.json()["targets"]
    assert target["origin"] == f"http://127.0.0.1:{receiver.port}"
    assert target["mode"] == "live"
    assert target["state"] == "healthy"
    assert target["consecutive_failures"] == 0
    assert target["last_success_at"].endswith("Z")
    assert target["last_error"]["failure_class"] == "5xx"
    assert target["last_error"]["status_code"] == 500
    assert target["last_error"]["response_excerpt"] == "nope"
    assert target["last_1h"]["attempts"] == 2
    assert target["last_1h"]["success_rate"] == 0.5
    assert target["last_24h"]["p95_ms"] is not None


def test_callback_targets_shows_neither_the_other_mode_nor_another_account(
    customer, customer_test_mode, account, other_account, api, receiver
):
    deliver(account, receiver.url, test_mode=True)
    deliver(other_account, receiver.url)

    assert customer.get("/v1/callback_targets").json() == {"targets": []}
    (test_target,) = customer_test_mode.get("/v1/callback_targets").json()["targets"]
    assert test_target["mode"] == "test"
    assert len(api.as_key(other_account.live_api_key).get("/v1/callback_targets").json()["targets"]) == 1


def test_pause_then_resume_a_target(customer, account, receiver):
    deliver(account, receiver.url)
    target_id = TargetHealth.objects.get().id

    paused = customer.post(f"/v1/callback_targets/{target_id}/pause")
    again = customer.post(f"/v1/callback_targets/{target_id}/pause")
    resumed = customer.post(f"/v1/callback_targets/{target_id}/resume")

    assert paused.status_code == 200
    assert paused.json()["state"] == "paused"
    assert paused.json()["next_probe_at"].endswith("Z")
    assert again.status_code == 400
    assert "already paused" in again.json()["error"]
    assert resumed.status_code == 200
    assert resumed.json()["state"] == "healthy"


def test_pausing_another_accounts_or_the_other_modes_target_is_a_404(
    customer_test_mode, api, account, other_account, receiver
):
    deliver(account, receiver.url)
    target_id = TargetHealth.objects.get().id

    assert customer_test_mode.post(f"/v1/callback_targets/{target_id}/pause").status_code == 404
    other = api.as_key(other_account.live_api_key)
    assert other.post(f"/v1/callback_targets/{target_id}/pause").status_code == 404
    assert TargetHealth.objects.get().state == "healthy"
