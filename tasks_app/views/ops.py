"""``/v1/ops/task/...``: operator actions on any account's task (a 404 for everybody else)."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.api.schema import responses
from tasks_app import schema as doc
from tasks_app import selectors, services
from tasks_app.operators import OPERATE_PERMISSION
from tasks_app.serializers import (
    TaskCompleteInput,
    TaskErrorInput,
)
from tasks_app.views.common import task_response, valid


class OpsApi(APIView):
    policy = access.OPERATOR
    operator_permission = OPERATE_PERMISSION  # the admin's task actions ask for the same


def _done(task, action: str):
    """The changed task, its change in the audit trail (by the operator the key belongs to)."""
    services.task_operator_action_record(task=task, action=action)
    return task_response(task)


def _ops_schema(action: str, summary: str, request=None):
    return extend_schema(
        operation_id=f"ops_task_{action}",
        summary=f"{summary} (operators only: a 404 for other keys)",
        tags=["ops"],
        parameters=[doc.TASK_ID],
        request=request,
        responses=responses(doc.TaskOutput, 400, *((413,) if request else ()), 404),
    )


class OpsTaskCompleteApi(OpsApi):
    @_ops_schema("complete", "Complete a pending task with a response", TaskCompleteInput)
    def post(self, request, task_id):
        data = valid(TaskCompleteInput(data=request.data))
        with selectors.operator_task_found(task_id):  # the service reads the task once
            task = services.task_complete(task_id=task_id, response=data["response"])
        return _done(task, "complete")


class OpsTaskErrorApi(OpsApi):
    @_ops_schema("error", "Fail a pending task with an error message", TaskErrorInput)
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = valid(TaskErrorInput(data=request.data))
        return _done(services.task_error(task_id=task.id, error=data["error"]), "error")


class OpsTaskFixApi(OpsApi):
    @_ops_schema("fix", "Replace the response of a completed task", TaskCompleteInput)
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = valid(TaskCompleteInput(data=request.data))
        return _done(services.task_fix(task_id=task.id, response=data["response"]), "fix")


class OpsTaskRecallApi(OpsApi):
    @_ops_schema("recall", "Take a completed task back to pending")
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        return _done(services.task_recall(task_id=task.id), "recall")
