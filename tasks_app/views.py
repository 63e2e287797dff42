"""The ``/v1`` task API: thin views over the lifecycle services and selectors.

Every customer route first reads the task through ``selectors.task_get``
(scoped to the key's account and mode: anything else is a 404), then calls
the service. Success is always 200 with the task object.
"""

from rest_framework import serializers as drf_serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app import accounts, selectors, services
from tasks_app.permissions import IsOperator
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
    TaskErrorInput,
    TaskListInput,
    TaskMetadataInput,
    TaskTagsInput,
    TaskUniqueIdInput,
)

MAX_IDEMPOTENCY_KEY_LENGTH = 255


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

    def post(self, request, segment):
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise drf_serializers.ValidationError(
                {"Idempotency-Key": [f"At most {MAX_IDEMPOTENCY_KEY_LENGTH} characters."]}
            )
        task = services.task_create(
            owner=request.user,
            mode=request.auth.mode,
            task_type=segment,
            data=request.data,
            idempotency_key=key,
        )
        return _task_response(task)

    def get(self, request, segment):
        return _task_response(_own_task(request, segment))


class TaskListApi(APIView):
    """``GET /v1/tasks``: filtered, newest first, cursor-paginated with ``next_token``."""

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
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        query = _valid(TaskCancelQuery(data=request.query_params))
        return _task_response(
            services.task_cancel(task_id=task.id, clear_unique_id=query["clear_unique_id"])
        )


class TaskAuditApi(APIView):
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
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        data = _valid(TaskUniqueIdInput(data=request.data))
        return _task_response(services.task_unique_id_set(task_id=task.id, unique_id=data["unique_id"]))

    def delete(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_unique_id_clear(task_id=task.id))


class TaskMetadataApi(APIView):
    def post(self, request, task_id):
        task = _own_task(request, task_id)
        data = _valid(TaskMetadataInput.from_body(request.data))
        return _task_response(services.task_metadata_set(task_id=task.id, metadata=data["metadata"]))


class TaskTagsApi(APIView):
    """POST sets the tags, PUT adds to them, DELETE removes from them."""

    def _tags(self, request) -> list[str]:
        return _valid(TaskTagsInput.from_body(request.data))["tags"]

    def post(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_tags_set(task_id=task.id, tags=self._tags(request)))

    def put(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_tags_add(task_id=task.id, tags=self._tags(request)))

    def delete(self, request, task_id):
        task = _own_task(request, task_id)
        return _task_response(services.task_tags_remove(task_id=task.id, tags=self._tags(request)))


class ProfileApi(APIView):
    def get(self, request):
        return Response(profile_representation(request.auth.profile, mode=request.auth.mode))

    def patch(self, request):
        data = _valid(ProfileUpdateInput(data=request.data))
        profile = accounts.profile_update(
            profile=request.auth.profile, default_callback_url=data["default_callback_url"]
        )
        return Response(profile_representation(profile, mode=request.auth.mode))


class ProfileRotateCallbackAuthKeyApi(APIView):
    """The new callback auth key of the key's mode, in the profile object."""

    def post(self, request):
        profile = request.auth.profile
        accounts.callback_auth_key_rotate(profile=profile, mode=request.auth.mode)
        return Response(profile_representation(profile, mode=request.auth.mode))


# --- operators (staff only; a 404 for everybody else) --------------------------


class OpsApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]


class OpsTaskCompleteApi(OpsApi):
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = _valid(TaskCompleteInput(data=request.data))
        return _task_response(services.task_complete(task_id=task.id, response=data["response"]))


class OpsTaskErrorApi(OpsApi):
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = _valid(TaskErrorInput(data=request.data))
        return _task_response(services.task_error(task_id=task.id, error=data["error"]))


class OpsTaskFixApi(OpsApi):
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        data = _valid(TaskCompleteInput(data=request.data))
        return _task_response(services.task_fix(task_id=task.id, response=data["response"]))


class OpsTaskRecallApi(OpsApi):
    def post(self, request, task_id):
        task = selectors.task_get_for_operator(task_id=task_id)
        return _task_response(services.task_recall(task_id=task.id))
