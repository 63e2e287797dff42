"""Output of the callback routes (SPEC §6.7, §6.8). Fields are listed one by one:
a new model field never reaches the API by itself, and request headers are
masked once more on the way out."""

from rest_framework import serializers

from callbacks_app.masking import masked_headers
from scalehooks.api.fields import TimestampField


class DeliveryAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = TimestampField()
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
    next_attempt_at = TimestampField(allow_null=True)
    created_at = TimestampField()
    finished_at = TimestampField(allow_null=True)
    attempts = DeliveryAttemptOutput(many=True)
