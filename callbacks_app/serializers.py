"""Output of the callback routes (SPEC §6.7, §6.8). Fields are listed one by one:
a new model field never reaches the API by itself, and request headers are
masked once more on the way out. What a private target (SPEC §8, an account's
allowed networks) answered is left out."""

from drf_spectacular.utils import extend_schema_field
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


class WindowFiguresOutput(serializers.Serializer):
    attempts = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    p50_ms = serializers.IntegerField(
        allow_null=True,
        help_text="Median duration of the window's attempts, in ms (nearest rank, from the ledger)",
    )
    p95_ms = serializers.IntegerField(
        allow_null=True, help_text="95th percentile of the window's attempt durations, in ms (nearest rank)"
    )


class LastErrorOutput(serializers.Serializer):
    failure_class = serializers.CharField(source="last_error_class")
    status_code = serializers.IntegerField(source="last_status_code", allow_null=True)
    error = serializers.CharField(source="last_error")
    response_excerpt = serializers.CharField(source="last_excerpt")
    at = TimestampField(source="last_error_at")


class CallbackTargetOutput(serializers.Serializer):
    """A callback target's health (SPEC §16), for its own account and mode only."""

    id = serializers.IntegerField()
    origin = serializers.CharField()
    mode = serializers.CharField()
    state = serializers.CharField()
    consecutive_failures = serializers.IntegerField()
    first_failure_at = TimestampField(allow_null=True)
    last_success_at = TimestampField(allow_null=True)
    last_attempt_at = TimestampField(allow_null=True)
    last_error = serializers.SerializerMethodField()
    paused_at = TimestampField(allow_null=True)
    next_probe_at = TimestampField(allow_null=True)
    last_1h = serializers.SerializerMethodField()
    last_24h = serializers.SerializerMethodField()

    @extend_schema_field(LastErrorOutput(allow_null=True))
    def get_last_error(self, target):
        return LastErrorOutput(target).data if target.last_error_at else None

    @extend_schema_field(WindowFiguresOutput)
    def get_last_1h(self, target):
        return WindowFiguresOutput(self.context["figures"][target.id]["1h"]).data

    @extend_schema_field(WindowFiguresOutput)
    def get_last_24h(self, target):
        return WindowFiguresOutput(self.context["figures"][target.id]["24h"]).data


class CallbacksFeedInput(serializers.Serializer):
    """``GET /v1/callbacks``'s query (SPEC §17)."""

    after = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="A next_cursor of this feed; none: from the oldest kept",
    )
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)
    wait = serializers.IntegerField(
        min_value=0, max_value=30, default=0, help_text="Seconds to wait for an event when there is none yet"
    )


class FeedEventOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The delivery id, sent as webhook-id")
    event = serializers.CharField()
    created_at = TimestampField()
    task_id = serializers.CharField(allow_null=True)
    batch_name = serializers.CharField(allow_null=True)
    target = serializers.CharField(help_text='Where it was sent; "" when it had no target (status not_sent)')
    status = serializers.ChoiceField(choices=["pending", "succeeded", "failed", "superseded", "not_sent"])
    payload = serializers.JSONField(help_text="The frozen payload every attempt sends (SPEC §6.2)")


class CallbacksFeedOutput(serializers.Serializer):
    callbacks = FeedEventOutput(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as after for the next page (the same one when this page is empty)"
    )
    has_more = serializers.BooleanField()
