"""The ``/v1`` task API: thin views over the lifecycle services and selectors."""

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app import selectors, services
from tasks_app.permissions import IsOperator
from tasks_app.representation import task_representation
from tasks_app.serializers import TaskCompleteInput


class TaskApi(APIView):
    """``/v1/task/{segment}``: POST creates a task of type ``segment``; GET reads task ``segment``.

    Scale's API puts both on one path, so one view answers both methods.
    """

    def post(self, request, segment):
        task = services.task_create(
            owner=request.user, mode=request.auth.mode, task_type=segment, data=request.data
        )
        return Response(task_representation(task))

    def get(self, request, segment):
        task = selectors.task_get(user=request.user, mode=request.auth.mode, task_id=segment)
        return Response(task_representation(task))


class OpsTaskCompleteApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]

    def post(self, request, task_id):
        selectors.task_get_for_operator(task_id=task_id)
        data = TaskCompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_complete(task_id=task_id, response=data.validated_data["response"])
        return Response(task_representation(task))
