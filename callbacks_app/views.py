"""Callback routes under ``/v1`` (SPEC §4, §6.7, §6.8): thin views over services and selectors.

The task is looked up through ``tasks_app.selectors.task_get``: another
account's task, or a task of the other mode, is a 404.
"""

from rest_framework.response import Response
from rest_framework.views import APIView

from callbacks_app.selectors import deliveries_of_task
from callbacks_app.serializers import DeliveryOutput
from callbacks_app.services import callback_resend
from tasks_app.selectors import task_get


class TaskCallbackResendApi(APIView):
    """``POST /v1/task/{id}/resend_callback`` → ``{task_id, delivery_id, status: "queued"}``."""

    def post(self, request, task_id):
        task = task_get(user=request.user, mode=request.auth.mode, task_id=task_id)
        delivery = callback_resend(task_id=task.id)
        return Response({"task_id": task.id, "delivery_id": delivery.id, "status": "queued"})


class TaskCallbacksApi(APIView):
    """``GET /v1/task/{id}/callbacks`` → ``{task_id, deliveries: [...]}``, newest first."""

    def get(self, request, task_id):
        task = task_get(user=request.user, mode=request.auth.mode, task_id=task_id)
        deliveries = DeliveryOutput(deliveries_of_task(task=task), many=True).data
        return Response({"task_id": task.id, "deliveries": deliveries})
