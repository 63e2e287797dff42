"""The callback bodies: a task's (SPEC §6.2) and a batch's (SPEC §12)."""

import json

from django.utils import timezone

from scalehooks import json_input
from tasks_app.models import Task
from tasks_app.representation import batch_representation, task_representation

SAMPLE_TASK_ID = "000000000000000000000000"


def callback_payload(task) -> str:
    """``{task_id, status, response, task}`` as compact UTF-8 JSON, frozen into the delivery."""
    task_object = task_representation(task)
    payload = {
        "task_id": task_object["task_id"],
        "status": task_object["status"],
        "response": task_object["response"],
        "task": task_object,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def batch_callback_payload(batch, *, counts: dict[str, int]) -> str:
    """``{batch_name, status: "completed", counts, batch}`` (SPEC §12) as compact UTF-8 JSON."""
    batch_object = batch_representation(batch)
    payload = {
        "batch_name": batch_object["name"],
        "status": batch_object["status"],
        "counts": counts,
        "batch": batch_object,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def sample_callback_payload(*, owner_id, is_test: bool) -> str:
    """The body of a ``callback.test``: the payload of a completed categorization task (§6.2),
    built from a task that is never saved (id all zeros), so that a receiver sees the real shape."""
    now = timezone.now()
    task = Task(
        id=SAMPLE_TASK_ID,
        owner_id=owner_id,
        is_test=is_test,
        type="categorization",
        status=Task.Status.COMPLETED,
        instruction="A sample task sent by 'Send a test callback' in the portal.",
        params={"attachment_type": "text", "attachment": "tomato", "categories": ["red", "blue"]},
        response={"category": "red"},
        metadata={"sample": True},
        created_at=now,
        updated_at=now,
        completed_at=now,
    )
    return callback_payload(task)


def payload_indented(payload: str) -> str:
    """A frozen payload indented for reading, its keys in the order they are sent (the text as it
    is when it is not JSON). What is sent is ``payload`` itself, byte for byte."""
    try:
        return json.dumps(json_input.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload
