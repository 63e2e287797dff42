"""The callback body (SPEC §6.2)."""

import json

from tasks_app.representation import task_representation


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
