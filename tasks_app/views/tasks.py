"""``/v1/task/...`` and ``/v1/tasks``: thin views over the lifecycle services and selectors.

Every customer route first reads the task through ``selectors.task_get``
(scoped to the key's account and mode: anything else is a 404), then calls
the service. Success is always 200 with the task object.
"""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.api.schema import responses
from tasks_app import batches, selectors, services, task_fields
from tasks_app import schema as doc
from tasks_app.representation import (
    task_page_representation,
)
from tasks_app.serializers import (
    TaskAuditInput,
    TaskCancelQuery,
    TaskCreateInput,
    TaskListInput,
    TaskMetadataInput,
    TaskTagsInput,
    TaskUniqueIdInput,
    task_create_body,
)
from tasks_app.task_types import REGISTRY
from tasks_app.views.common import own_task, task_response, valid

MAX_IDEMPOTENCY_KEY_LENGTH = 255
IDEMPOTENCY_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}")


def project_defaults(request, task_type: str) -> dict | None:
    """The params of the project a create body names, which the task inherits (SPEC §12)."""
    data = request.data
    name = data.get("project") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        return None
    return batches.project_task_defaults(
        owner=request.user, mode=request.auth.mode, name=name, task_type=task_type
    )


class TaskApi(APIView):
    """``/v1/task/{segment}``: POST creates a task of type ``segment``; GET reads task ``segment``.

    Scale's API puts both on one path, so one view answers both methods.
    """

    policy = access.account(access.Action.READ, write=access.Action.OPERATE)

    @extend_schema(
        operation_id="task_create",
        summary="Create a task of type `segment`",
        description=(
            "The common fields below, plus the type's params: flat in the body (as Scale takes "
            "them) or under `params`. Any other key is a 400."
        ),
        parameters=[
            OpenApiParameter(
                "segment",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=sorted(REGISTRY),
                description="The task type.",
            ),
            doc.IDEMPOTENCY_KEY,
        ],
        request=TaskCreateInput,
        examples=doc.CREATE_EXAMPLES,
        responses=responses(doc.TaskOutput, 400, 409, 413),
    )
    def post(self, request, segment):
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
            raise drf_serializers.ValidationError(
                {"Idempotency-Key": [f"At most {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters."]}
            )
        owner, mode = request.user, request.auth.mode
        request_hash = ""  # what a retry under the same key must match: without a key, nothing
        if key is not None:
            request_hash = services.task_create_request_hash(task_type=segment, data=request.data)
            # A retry is answered with the first task before its body is looked at.
            replay = services.task_create_replay(
                owner=owner, mode=mode, idempotency_key=key, request_hash=request_hash
            )
            if replay is not None:
                return task_response(replay)
        task = services.task_create(
            owner=owner,
            mode=mode,
            **task_create_body(
                task_type=segment,
                data=request.data,
                defaults=project_defaults(request, segment),
                allowed_networks=request.auth.profile.allowed_networks,
            ),
            idempotency_key=key,
            request_hash=request_hash,
        )
        return task_response(task)

    @extend_schema(
        operation_id="task_get",
        summary="Read a task",
        parameters=[
            OpenApiParameter(
                "segment",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The task id.",
            )
        ],
        responses=responses(doc.TaskOutput, 404),
    )
    def get(self, request, segment):
        return task_response(own_task(request, segment))


class TaskListApi(APIView):
    """``GET /v1/tasks``: filtered, newest first, cursor-paginated with ``next_token``."""

    policy = access.READ

    @extend_schema(
        operation_id="tasks_list",
        summary="List tasks, newest first",
        parameters=[TaskListInput],
        responses=responses(doc.TaskPageOutput, 400),
    )
    def get(self, request):
        query = valid(TaskListInput.from_query(request.query_params))
        page = selectors.tasks_page(
            user=request.user,
            mode=request.auth.mode,
            filters=query,
            limit=query["limit"],
            next_token=query.get("next_token") or None,
        )
        return Response(task_page_representation(page))


class TaskCancelApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="task_cancel",
        summary="Cancel a pending task",
        parameters=[doc.TASK_ID, TaskCancelQuery],
        request=None,
        responses=responses(doc.TaskOutput, 400, 404),
    )
    def post(self, request, task_id):
        task = own_task(request, task_id)
        query = valid(TaskCancelQuery(data=request.query_params))
        return task_response(services.task_cancel(task_id=task.id, clear_unique_id=query["clear_unique_id"]))


class TaskAuditApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="task_audit",
        summary="Accept or reject a completed task",
        parameters=[doc.TASK_ID],
        request=TaskAuditInput,
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def post(self, request, task_id):
        task = own_task(request, task_id)
        data = valid(TaskAuditInput(data=request.data))
        return task_response(
            services.task_audit(
                task_id=task.id,
                accepted=data["accepted"],
                comments=data.get("comments") or "",
                audited_by=request.user.email or "customer",
            )
        )


class TaskUniqueIdApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="task_unique_id_set",
        summary="Set the task's unique_id",
        parameters=[doc.TASK_ID],
        request=TaskUniqueIdInput,
        responses=responses(doc.TaskOutput, 400, 404, 409, 413),
    )
    def post(self, request, task_id):
        task = own_task(request, task_id)
        data = valid(TaskUniqueIdInput(data=request.data))
        return task_response(task_fields.task_unique_id_set(task_id=task.id, unique_id=data["unique_id"]))

    @extend_schema(
        operation_id="task_unique_id_clear",
        summary="Clear the task's unique_id",
        parameters=[doc.TASK_ID],
        request=None,
        responses=responses(doc.TaskOutput, 404),
    )
    def delete(self, request, task_id):
        task = own_task(request, task_id)
        return task_response(task_fields.task_unique_id_clear(task_id=task.id))


class TaskMetadataApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="task_metadata_set",
        summary="Replace the task's metadata",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.METADATA_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def post(self, request, task_id):
        task = own_task(request, task_id)
        data = valid(TaskMetadataInput.from_body(request.data))
        return task_response(task_fields.task_metadata_set(task_id=task.id, metadata=data["metadata"]))


class TaskTagsApi(APIView):
    """POST sets the tags, PUT adds to them, DELETE removes from them."""

    policy = access.OPERATE

    def _tags(self, request) -> list[str]:
        return valid(TaskTagsInput.from_body(request.data))["tags"]

    @extend_schema(
        operation_id="task_tags_set",
        summary="Replace the task's tags",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.TAGS_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def post(self, request, task_id):
        task = own_task(request, task_id)
        return task_response(task_fields.task_tags_set(task_id=task.id, tags=self._tags(request)))

    @extend_schema(
        operation_id="task_tags_add",
        summary="Add tags to the task",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.TAGS_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def put(self, request, task_id):
        task = own_task(request, task_id)
        return task_response(task_fields.task_tags_add(task_id=task.id, tags=self._tags(request)))

    @extend_schema(
        operation_id="task_tags_remove",
        summary="Remove tags from the task",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.TAGS_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def delete(self, request, task_id):
        task = own_task(request, task_id)
        return task_response(task_fields.task_tags_remove(task_id=task.id, tags=self._tags(request)))
