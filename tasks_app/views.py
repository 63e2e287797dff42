"""The ``/v1`` task API: thin views over the lifecycle services and selectors.

Every customer route first reads the task through ``selectors.task_get``
(scoped to the key's account and mode: anything else is a 404), then calls
the service. Success is always 200 with the task object.
"""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from scalehooks.api.permissions import IsOperator
from scalehooks.api.schema import responses
from tasks_app import accounts, selectors, services
from tasks_app import schema as doc
from tasks_app.representation import (
    profile_representation,
    task_page_representation,
    task_representation,
)
from tasks_app.serializers import (
    ProfileUpdateInput,
    TaskAuditInput,
    TaskCancelQuery,
    TaskCompleteInput,
    TaskCreateInput,
    TaskErrorInput,
    TaskListInput,
    TaskMetadataInput,
    TaskTagsInput,
    TaskUniqueIdInput,
    task_create_body,
)
from tasks_app.task_types import REGISTRY

MAX_IDEMPOTENCY_KEY_LENGTH = 255
IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,%d}" % MAX_IDEMPOTENCY_KEY_LENGTH)


def _valid(serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _own_task(request, task_id: str):
    return selectors.task_get(user=request.user, mode=request.auth.mode, task_id=task_id)


def _task_response(task) -> Response:
    return Response(task_representation(task))


class TaskApi(APIView):
    """``/v1/task/{segment}``: POST creates a task of type ``segment``; GET reads task ``segment``.

    Scale's API puts both on one path, so one view answers both methods.
    """

    @extend_schema(
        operation_id="task_create",
        summary="Create a task of type `segment`",
        description=(
            "The common fields below, plus the type's params: flat in the body (as Scale takes "
            "them) or under `params`. Any other key is a 400."
        ),
        parameters=[
            OpenApiParameter(
                "segment", OpenApiTypes.STR, OpenApiParameter.PATH,
                enum=sorted(REGISTRY), description="The task type.",
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
                {"Idempotency-Key": [
                    f"At most {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters."
                ]}
            )
        owner, mode = request.user, request.auth.mode
        request_hash = services.task_create_request_hash(task_type=segment, data=request.data)
        if key is not None:
            # A retry is answered with the first task before its body is looked at.
            replay = services.task_create_replay(
                owner=owner, mode=mode, idempotency_key=key, request_hash=request_hash
            )
            if replay is not None:
                return _task_response(replay)
        task = services.task_create(
            owner=owner,
            mode=mode,
            **task_create_body(task_type=segment, data=request.data),
            idempotency_key=key,
            request_hash=request_hash,
        )
        return _task_response(task)

    @extend_schema(
        operation_id="task_get",
        summary="Read a task",
        parameters=[
            OpenApiParameter(
                "segment", OpenApiTypes.STR, OpenApiParameter.PATH, description="The task id."
            )
        ],
        responses=responses(doc.TaskOutput, 404),
    )
    def get(self, request, segment):
        return _task_response(_own_task(request, segment))


class TaskListApi(APIView):
    """``GET /v1/tasks``: filtered, newest first, cursor-paginated with ``next_token``."""

    @extend_schema(
        operation_id="tasks_list",
        summary="List tasks, newest first",
        parameters=[TaskListInput],
        responses=responses(doc.TaskPageOutput, 400),
    )
    def get(self, request):
        query = _valid(TaskListInput.from_query(request.query_params))
        page = selectors.tasks_page(
            user=request.user,
            mode=request.auth.mode,
            filters=query,
            limit=query["limit"],
            next_token=query.get("next_token") or None,
        )
        return Response(task_page_representation(page))


class TaskCancelApi(APIView):
    @extend_schema(
        operation_id="task_cancel",
        summary="Cancel a pending task",
        parameters=[doc.TASK_ID, TaskCancelQuery],
        request=None,
        responses=responses(doc.TaskOutput, 400, 404, 409),
    )
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        query = _valid(TaskCancelQuery(data=request.query_params))
        return _task_response(
            services.task_cancel(task_id=task.id, clear_unique_id=query["clear_unique_id"])
        )


class TaskAuditApi(APIView):
    @extend_schema(
        operation_id="task_audit",
        summary="Accept or reject a completed task",
        parameters=[doc.TASK_ID],
        request=TaskAuditInput,
        responses=responses(doc.TaskOutput, 400, 404, 409, 413),
    )
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        data = _valid(TaskAuditInput(data=request.data))
        return _task_response(
            services.task_audit(
                task_id=task.id,
                accepted=data["accepted"],
                comments=data.get("comments") or "",
                audited_by=request.user.email or "customer",
            )
        )


class TaskUniqueIdApi(APIView):
    @extend_schema(
        operation_id="task_unique_id_set",
        summary="Set the task's unique_id",
        parameters=[doc.TASK_ID],
        request=TaskUniqueIdInput,
        responses=responses(doc.TaskOutput, 400, 404, 409, 413),
    )
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        data = _valid(TaskUniqueIdInput(data=request.data))
        return _task_response(services.task_unique_id_set(task_id=task.id, unique_id=data["unique_id"]))

    @extend_schema(
        operation_id="task_unique_id_clear",
        summary="Clear the task's unique_id",
        parameters=[doc.TASK_ID],
        request=None,
        responses=responses(doc.TaskOutput, 404),
    )
    def delete(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_unique_id_clear(task_id=task.id))


class TaskMetadataApi(APIView):
    @extend_schema(
        operation_id="task_metadata_set",
        summary="Replace the task's metadata",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.METADATA_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        data = _valid(TaskMetadataInput.from_body(request.data))
        return _task_response(services.task_metadata_set(task_id=task.id, metadata=data["metadata"]))


class TaskTagsApi(APIView):
    """POST sets the tags, PUT adds to them, DELETE removes from them."""

    def _tags(self, request) -> list[str]:
        return _valid(TaskTagsInput.from_body(request.data))["tags"]

    @extend_schema(
        operation_id="task_tags_set",
        summary="Replace the task's tags",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.TAGS_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_tags_set(task_id=task.id, tags=self._tags(request)))

    @extend_schema(
        operation_id="task_tags_add",
        summary="Add tags to the task",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.TAGS_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def put(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_tags_add(task_id=task.id, tags=self._tags(request)))

    @extend_schema(
        operation_id="task_tags_remove",
        summary="Remove tags from the task",
        parameters=[doc.TASK_ID],
        request={"application/json": doc.TAGS_BODY},
        responses=responses(doc.TaskOutput, 400, 404, 413),
    )
    def delete(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_tags_remove(task_id=task.id, tags=self._tags(request)))


class ProfileApi(APIView):
    @extend_schema(
        operation_id="profile_get",
        summary="The account's callback settings for the key's mode",
        responses=responses(doc.ProfileOutput),
    )
    def get(self, request):
        return Response(profile_representation(request.auth.profile, mode=request.auth.mode))

    @extend_schema(
        operation_id="profile_update",
        summary="Change the default callback URL",
        request=ProfileUpdateInput,
        responses=responses(doc.ProfileOutput, 400, 413),
    )
    def patch(self, request):
        data = _valid(ProfileUpdateInput(data=request.data))
        profile = accounts.profile_update(
            profile=request.auth.profile, default_callback_url=data["default_callback_url"]
        )
        return Response(profile_representation(profile, mode=request.auth.mode))


class ProfileRotateCallbackAuthKeyApi(APIView):
    """The new callback auth key of the key's mode, in the profile object."""

    @extend_schema(
        operation_id="profile_rotate_callback_auth_key",
        summary="A new callback auth key for the key's mode",
        request=None,
        responses=responses(doc.ProfileOutput),
    )
    def post(self, request):
        profile = request.auth.profile
        accounts.callback_auth_key_rotate(profile=profile, mode=request.auth.mode)
        return Response(profile_representation(profile, mode=request.auth.mode))


# --- operators (staff only; a 404 for everybody else) --------------------------


class OpsApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]


def _ops_schema(action: str, summary: str, request=None):
    return extend_schema(
        operation_id=f"ops_task_{action}",
        summary=f"{summary} (operators only: a 404 for other keys)",
        tags=["ops"],
        parameters=[doc.TASK_ID],
        request=request,
        responses=responses(doc.TaskOutput, *((400, 413) if request else ()), 404, 409),
    )


class OpsTaskCompleteApi(OpsApi):
    @_ops_schema("complete", "Complete a pending task with a response", TaskCompleteInput)
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = _valid(TaskCompleteInput(data=request.data))
        return _task_response(services.task_complete(task_id=task.id, response=data["response"]))


class OpsTaskErrorApi(OpsApi):
    @_ops_schema("error", "Fail a pending task with an error message", TaskErrorInput)
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = _valid(TaskErrorInput(data=request.data))
        return _task_response(services.task_error(task_id=task.id, error=data["error"]))


class OpsTaskFixApi(OpsApi):
    @_ops_schema("fix", "Replace the response of a completed task", TaskCompleteInput)
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = _valid(TaskCompleteInput(data=request.data))
        return _task_response(services.task_fix(task_id=task.id, response=data["response"]))


class OpsTaskRecallApi(OpsApi):
    @_ops_schema("recall", "Take a completed task back to pending")
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        return _task_response(services.task_recall(task_id=task.id))
