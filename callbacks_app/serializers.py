"""Output of the callback routes (SPEC §6.7, §6.8). Fields are listed one by one:
a new model field never reaches the API by itself, and request headers are
masked once more on the way out. What a private target (SPEC §8, an account's
allowed networks) answered is left out."""

from rest_framework import serializers

from callbacks_app.masking import masked_headers
from scalehooks.api.fields import TimestampField

PRIVATE_TARGET_ERROR = (
    "Not delivered. The target is on a private network your account was allowed to reach: "
    "the error and the answer are shown to operators only."
)


class DeliveryAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = TimestampField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    succeeded = serializers.BooleanField()
    error = serializers.SerializerMethodField()
    response_excerpt = serializers.SerializerMethodField()
    request_headers = serializers.SerializerMethodField()

    def get_error(self, attempt) -> str:
        # A private target (opened by the account's allowed networks) answers
        # operators only: its banners and error texts would map the network.
        if attempt.private_target and not attempt.succeeded and attempt.error != attempt.UNFINISHED:
            return PRIVATE_TARGET_ERROR
        return attempt.error

    def get_response_excerpt(self, attempt) -> str:
        return "" if attempt.private_target else attempt.response_excerpt

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
