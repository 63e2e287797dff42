"""Callback routes under ``/v1`` (SPEC §4, §6.7, §6.8): thin views over services and selectors.

The task is looked up through ``tasks_app.selectors.task_get``: another
account's task, or a task of the other mode, is a 404.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from callbacks_app.selectors import deliveries_of_task
from callbacks_app.serializers import DeliveryOutput
from callbacks_app.services import callback_resend
from scalehooks.api.schema import responses
from tasks_app.schema import TASK_ID
from tasks_app.selectors import task_get


class TaskCallbackResendApi(APIView):
    """``POST /v1/task/{id}/resend_callback`` → ``{task_id, delivery_id, status: "queued"}``."""

    @extend_schema(
        operation_id="task_callback_resend",
        summary="Re-send the task's callback (completed or error tasks)",
        parameters=[TASK_ID],
        request=None,
        responses=responses(
            inline_serializer(
                "CallbackResend",
                {
                    "task_id": serializers.CharField(),
                    "delivery_id": serializers.CharField(),
                    "status": serializers.ChoiceField(choices=["queued"]),
                },
            ),
            400,
            404,
        ),
    )
    def post(self, request, task_id):
        task = task_get(user=request.user, mode=request.auth.mode, task_id=task_id)
        delivery = callback_resend(task_id=task.id)
        return Response({"task_id": task.id, "delivery_id": delivery.id, "status": "queued"})


class TaskCallbacksApi(APIView):
    """``GET /v1/task/{id}/callbacks`` → ``{task_id, deliveries: [...]}``, newest first."""

    @extend_schema(
        operation_id="task_callbacks",
        summary="The task's callback deliveries, newest first, with their attempts",
        parameters=[TASK_ID],
        responses=responses(
            inline_serializer(
                "TaskCallbacks",
                {"task_id": serializers.CharField(), "deliveries": DeliveryOutput(many=True)},
            ),
            404,
        ),
    )
    def get(self, request, task_id):
        task = task_get(user=request.user, mode=request.auth.mode, task_id=task_id)
        deliveries = DeliveryOutput(deliveries_of_task(task=task), many=True).data
        return Response({"task_id": task.id, "deliveries": deliveries})
