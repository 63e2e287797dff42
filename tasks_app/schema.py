"""The OpenAPI description of the task routes (drf-spectacular); project-wide helpers
are in ``scalehooks.api.schema``.

The views answer with ``representation.*`` dicts; the output serializers here
describe those dicts for the schema, and ``TaskOutput`` is the one declaration
of the task object: ``representation.task_representation`` reads its fields.
``tests/test_schema.py`` runs schemathesis against the schema, so a response
that drifts from what is described here fails the suite.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema_serializer
from rest_framework import serializers

from scalehooks.api.fields import TimestampField
from tasks_app.models import Task
from tasks_app.serializers import MAX_TAG_LENGTH, MAX_TAGS

# --- output shapes ----------------------------------------------------------------


@extend_schema_serializer(component_name="Audit")
class AuditOutput(serializers.Serializer):
    audited_by = serializers.CharField()
    audited_at = serializers.CharField()
    audit_result = serializers.ChoiceField(choices=Task.AuditResult.values)
    audit_source = serializers.ChoiceField(choices=["customer", "scale"])
    comments = serializers.CharField(allow_blank=True)


@extend_schema_serializer(component_name="Task")
class TaskOutput(serializers.Serializer):
    """The task object (SPEC §4), in the order of its keys; ``representation.task_representation``
    builds it from these fields. A field that is not required is absent until set."""

    task_id = serializers.CharField(source="id", help_text="24 lowercase hex digits.")
    created_at = TimestampField()
    updated_at = TimestampField()
    completed_at = TimestampField(allow_null=True, help_text="null until completed.")
    type = serializers.CharField()
    status = serializers.ChoiceField(choices=Task.Status.values)
    instruction = serializers.CharField(allow_blank=True)
    params = serializers.DictField(child=serializers.JSONField())
    response = serializers.DictField(child=serializers.JSONField(), allow_null=True)
    callback_url = serializers.CharField(allow_blank=True)
    callback_succeeded = serializers.BooleanField(
        required=False, help_text="Absent until the task's first callback delivery finishes."
    )
    metadata = serializers.DictField(child=serializers.JSONField())
    tags = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Absent until tags are first set."
    )
    unique_id = serializers.CharField(required=False, help_text="Absent when unset.")
    is_test = serializers.BooleanField()
    project = serializers.CharField(allow_blank=True)
    batch = serializers.CharField(allow_blank=True)
    audits = AuditOutput(many=True)
    customer_review_status = serializers.ChoiceField(
        choices=Task.AuditResult.values, required=False, help_text="Absent until reviewed."
    )
    customer_review_comments = serializers.ListField(child=serializers.CharField())
    prior_responses = serializers.ListField(child=serializers.JSONField())


@extend_schema_serializer(component_name="TaskPage")
class TaskPageOutput(serializers.Serializer):
    docs = TaskOutput(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    has_more = serializers.BooleanField()
    next_token = serializers.CharField(allow_null=True)


@extend_schema_serializer(component_name="Profile")
class ProfileOutput(serializers.Serializer):
    email = serializers.CharField(allow_blank=True)
    default_callback_url = serializers.CharField(
        allow_blank=True, help_text="Of the key's mode (live or test)."
    )
    callback_auth_key = serializers.CharField(help_text="Of the key's mode (live or test).")
    signing_secret = serializers.CharField(help_text="Standard Webhooks secret of the key's mode, whsec_….")
    test_tasks_autocomplete = serializers.BooleanField(
        help_text="Test-key tasks complete at once with a synthetic response (default true)."
    )


# --- request shapes the input serializers cannot tell ----------------------------------


TAGS_BODY = {
    "type": "array",
    "items": {"type": "string", "maxLength": MAX_TAG_LENGTH},
    "maxItems": MAX_TAGS,
    "description": 'The tags, as a bare JSON list (`{"tags": [...]}` is accepted too).',
}

METADATA_BODY = {
    "type": "object",
    "additionalProperties": True,
    "description": "The new metadata object (at most 64 KiB as JSON, nested at most 32 levels).",
}

# --- parameters and examples ------------------------------------------------------

TASK_ID = OpenApiParameter(
    "task_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The task id (24 lowercase hex digits)."
)

PROJECT_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The project's name, URL-quoted."
)
BATCH_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The batch's name, URL-quoted."
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A retried create with the same key (same account and mode) returns the first task; "
        "a different request with a used key is a 409. At most 255 printable ASCII characters."
    ),
)

CREATE_EXAMPLES = [
    OpenApiExample(
        "categorization",
        request_only=True,
        value={
            "instruction": "Is this object red or blue?",
            "attachment_type": "text",
            "attachment": "tomato",
            "categories": ["red", "blue"],
            "metadata": {"order": 1},
            "tags": ["fruit"],
        },
    ),
    OpenApiExample(
        "textcollection",
        request_only=True,
        value={
            "instruction": "Read the label.",
            "attachment": "A jar of jam",
            "fields": [{"field_id": "brand", "title": "Brand", "type": "text"}],
        },
    ),
]
