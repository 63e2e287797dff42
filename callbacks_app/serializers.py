"""Output of the callback routes (SPEC §6.7, §6.8). Fields are listed one by one:
a new model field never reaches the API by itself, and request headers are
masked once more on the way out."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from callbacks_app.masking import masked_headers
from tasks_app.representation import format_timestamp


@extend_schema_field({"type": "string", "example": "2016-06-23T21:54:44.904Z"})
class Timestamp(serializers.Field):
    """ISO 8601 UTC with milliseconds and ``Z``, like every time of the task API."""

    def to_representation(self, value):
        return format_timestamp(value)


class DeliveryAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = Timestamp()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    succeeded = serializers.BooleanField()
    error = serializers.CharField()
    response_excerpt = serializers.CharField()
    request_headers = serializers.SerializerMethodField()

    def get_request_headers(self, attempt) -> dict:
        return masked_headers(attempt.request_headers)


class DeliveryOutput(serializers.Serializer):
    delivery_id = serializers.CharField(source="id")
    event = serializers.CharField()
    target = serializers.CharField()
    target_kind = serializers.CharField()
    status = serializers.CharField()
    attempt_count = serializers.IntegerField()
    next_attempt_at = Timestamp(allow_null=True)
    created_at = Timestamp()
    finished_at = Timestamp(allow_null=True)
    attempts = DeliveryAttemptOutput(many=True)
