"""``/v1/batches``: the account's batches of the key's mode (SPEC §12).

The batch's callbacks (``/callbacks``, ``/resend_callback``) are routes of callbacks_app.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from scalehooks import access
from scalehooks.api.schema import responses
from tasks_app import batches, selectors
from tasks_app import schema as task_doc
from tasks_app import schema_batches as doc
from tasks_app.representation import (
    batch_page_representation,
    batch_representation,
    batch_status_representation,
)
from tasks_app.serializers import BatchCreateInput, BatchListInput, TaskMetadataInput
from tasks_app.views.common import valid


def own_batch(request, name: str):
    return selectors.batch_get(user=request.user, mode=request.auth.mode, name=name)


class BatchesApi(APIView):
    policy = access.account(access.Action.READ, write=access.Action.OPERATE)

    @extend_schema(
        operation_id="batches_list",
        summary="List batches, newest first (offset paging)",
        parameters=[BatchListInput],
        responses=responses(doc.BatchPageOutput, 400),
    )
    def get(self, request):
        query = valid(BatchListInput(data=request.query_params))
        found = selectors.batches_filtered(user=request.user, mode=request.auth.mode, filters=query)
        limit, offset = query["limit"], query["offset"]
        page = list(found[offset : offset + limit])
        return Response(
            batch_page_representation(batches=page, total=found.count(), limit=limit, offset=offset)
        )

    @extend_schema(
        operation_id="batch_create",
        summary="Create a batch of a project (in_progress, or staging with staging_batch)",
        request=BatchCreateInput,
        responses=responses(doc.BatchOutput, 400, 409, 413),
    )
    def post(self, request):
        data = valid(BatchCreateInput(data=request.data))
        batch = batches.batch_create(
            owner=request.user,
            mode=request.auth.mode,
            project_name=data["project"],
            name=data["name"],
            callback=data["callback"],
            metadata=data["metadata"],
            calibration_batch=data["calibration_batch"],
            self_label_batch=data["self_label_batch"],
            staging=data["staging_batch"],
        )
        return Response(batch_representation(batch))


class BatchApi(APIView):
    policy = access.READ

    @extend_schema(
        operation_id="batch_get",
        summary="Read a batch",
        parameters=[doc.BATCH_NAME],
        responses=responses(doc.BatchOutput, 404),
    )
    def get(self, request, name):
        return Response(batch_representation(own_batch(request, name)))


class BatchStatusApi(APIView):
    policy = access.READ

    @extend_schema(
        operation_id="batch_status",
        summary="The batch's status and its tasks counted by status",
        parameters=[doc.BATCH_NAME],
        responses=responses(doc.BatchStatusOutput, 404),
    )
    def get(self, request, name):
        return Response(batch_status_representation(own_batch(request, name)))


class BatchFinalizeApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="batch_finalize",
        summary="Finalize the batch: no task joins it any more (idempotent)",
        parameters=[doc.BATCH_NAME],
        request=None,
        responses=responses(doc.BatchOutput, 404),
    )
    def post(self, request, name):
        batch = batches.batch_finalize(batch_id=own_batch(request, name).id)
        return Response(batch_representation(batch))


class BatchMetadataApi(APIView):
    policy = access.OPERATE

    @extend_schema(
        operation_id="batch_metadata_set",
        summary="Replace the batch's metadata",
        parameters=[doc.BATCH_NAME],
        request={"application/json": task_doc.METADATA_BODY},
        responses=responses(doc.BatchOutput, 400, 404, 413),
    )
    def post(self, request, name):
        batch = own_batch(request, name)
        data = valid(TaskMetadataInput.from_body(request.data))
        return Response(
            batch_representation(batches.batch_metadata_set(batch_id=batch.id, metadata=data["metadata"]))
        )
