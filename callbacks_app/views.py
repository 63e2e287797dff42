"""Callback routes under ``/v1`` (SPEC §4, §6.7, §6.8): thin views over services and selectors.

The task (or batch) is looked up through ``tasks_app.selectors.task_get``
(``batch_get``): another account's, or one of the other mode, is a 404.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from callbacks_app.feed import feed_wait
from callbacks_app.health_selectors import target_figures, target_health_get, targets_health
from callbacks_app.pausing import target_pause_set
from callbacks_app.resends import callback_batch_resend, callback_resend
from callbacks_app.selectors import deliveries_of_batch, deliveries_of_task
from callbacks_app.serializers import (
    CallbacksFeedInput,
    CallbacksFeedOutput,
    CallbackTargetOutput,
    DeliveryOutput,
)
from scalehooks import access
from scalehooks.api.schema import responses
from tasks_app.schema import BATCH_NAME, TASK_ID
from tasks_app.selectors import batch_get, task_get

TARGET_ID = OpenApiParameter("target_id", int, OpenApiParameter.PATH, description="The callback target's id")


class TaskCallbackResendApi(APIView):
    """``POST /v1/task/{id}/resend_callback`` → ``{task_id, delivery_id, status: "queued"}``."""

    policy = access.OPERATE

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

    policy = access.READ

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


class BatchCallbackResendApi(APIView):
    """``POST /v1/batches/{name}/resend_callback`` → ``{batch_name, delivery_id, status: "queued"}``."""

    policy = access.OPERATE

    @extend_schema(
        operation_id="batch_callback_resend",
        summary="Re-send the batch's batch.completed callback (completed batches)",
        parameters=[BATCH_NAME],
        request=None,
        responses=responses(
            inline_serializer(
                "BatchCallbackResend",
                {
                    "batch_name": serializers.CharField(),
                    "delivery_id": serializers.CharField(),
                    "status": serializers.ChoiceField(choices=["queued"]),
                },
            ),
            400,
            404,
        ),
    )
    def post(self, request, name):
        batch = batch_get(user=request.user, mode=request.auth.mode, name=name)
        delivery = callback_batch_resend(batch_id=batch.id)
        return Response({"batch_name": batch.name, "delivery_id": delivery.id, "status": "queued"})


class BatchCallbacksApi(APIView):
    """``GET /v1/batches/{name}/callbacks`` → ``{batch_name, deliveries: [...]}``, newest first."""

    policy = access.READ

    @extend_schema(
        operation_id="batch_callbacks",
        summary="The batch's callback deliveries, newest first, with their attempts",
        parameters=[BATCH_NAME],
        responses=responses(
            inline_serializer(
                "BatchCallbacks",
                {"batch_name": serializers.CharField(), "deliveries": DeliveryOutput(many=True)},
            ),
            404,
        ),
    )
    def get(self, request, name):
        batch = batch_get(user=request.user, mode=request.auth.mode, name=name)
        deliveries = DeliveryOutput(deliveries_of_batch(batch=batch), many=True).data
        return Response({"batch_name": batch.name, "deliveries": deliveries})


def _targets_output(targets: list) -> list:
    figures = target_figures(targets=targets, now=timezone.now())
    return CallbackTargetOutput(targets, many=True, context={"figures": figures}).data


class CallbackTargetsApi(APIView):
    """``GET /v1/callback_targets`` → ``{targets: [...]}``: the health of the key's account and mode."""

    policy = access.READ

    @extend_schema(
        operation_id="callback_targets",
        summary="Health of the account's callback targets (this key's mode), failing and paused first",
        responses=responses(
            inline_serializer("CallbackTargets", {"targets": CallbackTargetOutput(many=True)}),
        ),
    )
    def get(self, request):
        targets = list(targets_health(profile=request.auth.profile, mode=request.auth.mode))
        return Response({"targets": _targets_output(targets)})


class CallbackTargetPauseApi(APIView):
    """``POST /v1/callback_targets/{id}/pause`` (or ``/resume``) → the target."""

    policy = access.CONFIGURE

    paused = True

    @extend_schema(
        operation_id="callback_target_pause",
        summary="Pause a callback target: its callbacks wait, without spending retries, until resumed",
        parameters=[TARGET_ID],
        request=None,
        responses=responses(CallbackTargetOutput, 400, 404),
    )
    def post(self, request, target_id):
        target = target_health_get(owner_id=request.user.id, mode=request.auth.mode, target_id=target_id)
        target = target_pause_set(target=target, paused=self.paused, by="account")
        return Response(_targets_output([target])[0])


class CallbackTargetResumeApi(CallbackTargetPauseApi):
    paused = False

    @extend_schema(
        operation_id="callback_target_resume",
        summary="Resume a paused callback target: its waiting callbacks go out, oldest first",
        parameters=[TARGET_ID],
        request=None,
        responses=responses(CallbackTargetOutput, 400, 404),
    )
    def post(self, request, target_id):
        return super().post(request, target_id)


class CallbacksFeedApi(APIView):
    """``GET /v1/callbacks?after=&limit=&wait=`` → ``{callbacks: [...], next_cursor, has_more}``:
    the callback events of the key's account and mode, oldest first (SPEC §17, ``callbacks_app.feed``)."""

    policy = access.READ

    @extend_schema(
        operation_id="callbacks_feed",
        summary="The callback feed: every callback event of this key's account and mode, in order, after a cursor",
        parameters=[CallbacksFeedInput],
        responses=responses(CallbacksFeedOutput, 400, 429),
    )
    def get(self, request):
        given = CallbacksFeedInput(data=request.query_params)
        given.is_valid(raise_exception=True)
        query = given.validated_data
        page = feed_wait(
            owner_id=request.user.id,
            is_test=request.auth.mode == "test",
            after=query.get("after") or None,
            limit=query["limit"],
            wait=query["wait"],
        )
        return Response(
            CallbacksFeedOutput(
                {"callbacks": page.events, "next_cursor": page.next_cursor, "has_more": page.has_more}
            ).data
        )
