"""Input serializers of the task API. Output is ``representation.task_representation``."""

from rest_framework import serializers

from tasks_app.validators import validate_callback_target

MAX_TAGS = 100
MAX_TAG_LENGTH = 255


class TaskCreateInput(serializers.Serializer):
    """The fields every task type shares; type params are validated by the type."""

    instruction = serializers.CharField(max_length=100_000, required=False, allow_blank=True, default="")
    callback_url = serializers.CharField(
        max_length=2048, required=False, allow_blank=True, default="",
        validators=[validate_callback_target],
    )
    metadata = serializers.DictField(required=False, default=dict)
    unique_id = serializers.CharField(max_length=255, required=False, allow_null=True, default=None)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH),
        required=False,
        max_length=MAX_TAGS,
        default=list,
    )
    project = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    batch = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    params = serializers.DictField(required=False)


class TaskCompleteInput(serializers.Serializer):
    response = serializers.JSONField()
