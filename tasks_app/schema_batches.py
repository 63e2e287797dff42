"""The OpenAPI description of the project and batch routes (SPEC §12); see ``tasks_app.schema``."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from scalehooks.api.fields import TimestampField
from tasks_app.models import Batch
from tasks_app.schema import BATCH_NAME, PROJECT_NAME  # noqa: F401 - the views name them here


@extend_schema_serializer(component_name="Project")
class ProjectOutput(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    params = serializers.DictField(child=serializers.JSONField())
    param_history = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField()),
        help_text="Every version of the params, `{version, created_at, ...params}`, the last one current.",
    )
    created_at = TimestampField()


@extend_schema_serializer(component_name="Batch")
class BatchOutput(serializers.Serializer):
    name = serializers.CharField()
    project = serializers.CharField()
    status = serializers.ChoiceField(choices=Batch.Status.values)
    callback = serializers.CharField(allow_blank=True)
    metadata = serializers.DictField(child=serializers.JSONField())
    created_at = TimestampField()
    completed_at = TimestampField(allow_null=True)
    calibration_batch = serializers.BooleanField()
    self_label_batch = serializers.BooleanField()


@extend_schema_serializer(component_name="BatchStatus")
class BatchStatusOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Batch.Status.values)
    pending = serializers.IntegerField()
    completed = serializers.IntegerField()
    error = serializers.IntegerField()
    canceled = serializers.IntegerField()


@extend_schema_serializer(component_name="BatchPage")
class BatchPageOutput(serializers.Serializer):
    docs = BatchOutput(many=True)
    totalDocs = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    has_more = serializers.BooleanField()


PARAMS_BODY = {
    "type": "object",
    "additionalProperties": True,
    "description": "The new params; `patch: true` merges them into the current ones instead of replacing them.",
}
