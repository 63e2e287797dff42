"""The callback bodies: a task's (SPEC §6.2) and a batch's (SPEC §12)."""

import json

from tasks_app.representation import batch_representation, task_representation


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
