"""Input serializers of the task API. Output is ``representation.task_representation``."""

from datetime import datetime, time
from datetime import timezone as dt_timezone

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from tasks_app.models import Task
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


class TimestampField(serializers.Field):
    """A point in time in a query: ISO 8601 (``2024-05-01T12:00:00.000Z``), the client's
    ``YYYY-MM-DD HH:MM:SS.mmmmmm`` or a date; without a zone it is UTC."""

    default_error_messages = {"invalid": "Not a date or ISO 8601 timestamp: {value!r}."}

    def to_internal_value(self, value):
        text = str(value).strip()
        try:
            parsed = parse_datetime(text)
            day = parse_date(text) if parsed is None else None
        except ValueError:  # well formed, but not a real date
            self.fail("invalid", value=value)
        if parsed is None:
            if day is None:
                self.fail("invalid", value=value)
            parsed = datetime.combine(day, time.min)
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, dt_timezone.utc)
        return parsed

    def to_representation(self, value):
        return value.isoformat()


REVIEW_STATUSES = ("accepted", "rejected", "fixed", "pending", "commented")


class TaskListInput(serializers.Serializer):
    """The query of ``GET /v1/tasks``. Unknown parameters (``include_attachment_url``,
    ``limited_response``, which the official client sends) are ignored."""

    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    type = serializers.CharField(max_length=64, required=False)
    project = serializers.CharField(max_length=255, required=False)
    batch = serializers.CharField(max_length=255, required=False)
    start_time = TimestampField(required=False)
    end_time = TimestampField(required=False)
    created_after = TimestampField(required=False)
    created_before = TimestampField(required=False)
    completed_after = TimestampField(required=False)
    completed_before = TimestampField(required=False)
    updated_after = TimestampField(required=False)
    updated_before = TimestampField(required=False)
    unique_id = serializers.ListField(child=serializers.CharField(max_length=255), required=False, max_length=1000)
    tags = serializers.ListField(child=serializers.CharField(max_length=MAX_TAG_LENGTH), required=False, max_length=MAX_TAGS)
    customer_review_status = serializers.ListField(
        child=serializers.ChoiceField(choices=REVIEW_STATUSES), required=False
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=100)
    next_token = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    LIST_FIELDS = ("unique_id", "tags")

    @classmethod
    def from_query(cls, query) -> "TaskListInput":
        data = {name: query.get(name) for name in cls._declared_fields if name in query}
        for name in cls.LIST_FIELDS:
            if name in query:
                data[name] = query.getlist(name)
        if "customer_review_status" in query:
            data["customer_review_status"] = [
                part.strip()
                for value in query.getlist("customer_review_status")
                for part in value.split(",")
                if part.strip()
            ]
        return cls(data=data)


class TaskCancelQuery(serializers.Serializer):
    clear_unique_id = serializers.BooleanField(default=False)


class TaskAuditInput(serializers.Serializer):
    accepted = serializers.BooleanField()
    comments = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, allow_null=True, default=""
    )


class TaskUniqueIdInput(serializers.Serializer):
    unique_id = serializers.CharField(max_length=255)


class TaskTagsInput(serializers.Serializer):
    """A list of tags; the body is the bare JSON list, as the official client sends it
    (``{"tags": [...]}`` is accepted too)."""

    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH), max_length=MAX_TAGS
    )

    @classmethod
    def from_body(cls, body) -> "TaskTagsInput":
        return cls(data={"tags": body} if isinstance(body, list) else body)


class TaskMetadataInput(serializers.Serializer):
    """The body is the metadata object itself."""

    metadata = serializers.DictField()

    @classmethod
    def from_body(cls, body) -> "TaskMetadataInput":
        return cls(data={"metadata": body})


class TaskErrorInput(serializers.Serializer):
    error = serializers.CharField(max_length=10_000)


class ProfileUpdateInput(serializers.Serializer):
    default_callback_url = serializers.CharField(
        max_length=2048, allow_blank=True, validators=[validate_callback_target]
    )
