"""The OpenAPI description of the ``/v1`` API (drf-spectacular), served at ``/v1/schema``.

The views answer with ``representation.*`` dicts; the output serializers here
only describe those dicts for the schema. ``tests/test_schema.py`` runs
schemathesis against the schema, so a response that drifts from what is
described here fails the suite.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from tasks_app.models import Task
from tasks_app.serializers import MAX_TAG_LENGTH, MAX_TAGS


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tasks_app.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic: the API key (live_… or test_…) as user name, an empty password.",
        }


class ApiAutoSchema(AutoSchema):
    """``DELETE /v1/task/{id}/tags`` takes a body (the tags to remove); drf-spectacular
    leaves DELETE bodies out unless told."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE" or not self.path.endswith("/tags"):
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


# --- output shapes ----------------------------------------------------------------


@extend_schema_serializer(component_name="Error")
class ErrorOutput(serializers.Serializer):
    """Every error of the API (SPEC §4)."""

    status_code = serializers.IntegerField()
    error = serializers.CharField(help_text="A human readable message.")
    details = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="Validation errors only: field name → list of messages.",
    )


@extend_schema_serializer(component_name="Audit")
class AuditOutput(serializers.Serializer):
    audited_by = serializers.CharField()
    audited_at = serializers.CharField()
    audit_result = serializers.ChoiceField(choices=["accepted", "rejected", "fixed"])
    audit_source = serializers.ChoiceField(choices=["customer", "scale"])
    comments = serializers.CharField(allow_blank=True)


@extend_schema_field({"type": "string", "example": "2016-06-23T21:54:44.904Z"})
class TimestampOutput(serializers.CharField):
    """ISO 8601 UTC with milliseconds and ``Z``."""


@extend_schema_serializer(component_name="Task")
class TaskOutput(serializers.Serializer):
    """The task object (SPEC §4), as ``representation.task_representation`` builds it."""

    task_id = serializers.CharField(help_text="24 lowercase hex digits.")
    created_at = TimestampOutput()
    updated_at = TimestampOutput()
    completed_at = TimestampOutput(allow_null=True, help_text="null until completed.")
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
    tags = serializers.ListField(child=serializers.CharField())
    unique_id = serializers.CharField(required=False, help_text="Absent when unset.")
    is_test = serializers.BooleanField()
    project = serializers.CharField(allow_blank=True)
    batch = serializers.CharField(allow_blank=True)
    audits = AuditOutput(many=True)
    customer_review_status = serializers.ChoiceField(
        choices=["accepted", "rejected", "fixed"], required=False, help_text="Absent until reviewed."
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
    default_callback_url = serializers.CharField(allow_blank=True)
    callback_auth_key = serializers.CharField(help_text="Of the key's mode (live or test).")
    signing_secret = serializers.CharField(help_text="Standard Webhooks secret, whsec_….")


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

# --- responses and parameters ----------------------------------------------------

_ERROR_TEXT = {
    400: "Invalid input: `details` names each field and its messages.",
    401: "No API key, or not a valid one.",
    404: "No such task for this key (another account's task, or of the other mode, is a 404 too).",
    409: "Conflict: the task's state does not allow it, or the unique_id is taken.",
    413: "Request body larger than API_MAX_BODY_BYTES.",
    429: "Too many requests for this key; see Retry-After.",
}


def responses(success, *error_codes: int) -> dict:
    """The documented answers of one operation: 200 with ``success``, the errors given,
    and what any authenticated route may answer (401, 429)."""
    answers = {200: success}
    for code in sorted({*error_codes, 401, 429}):
        answers[code] = OpenApiResponse(ErrorOutput, description=_ERROR_TEXT[code])
    return answers


TASK_ID = OpenApiParameter(
    "task_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The task id (24 lowercase hex digits)."
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


# --- post-processing ---------------------------------------------------------------

OUTPUT_COMPONENTS = (
    "Task", "TaskPage", "Profile", "Error", "Audit",
    "CallbackResend", "TaskCallbacks", "DeliveryOutput", "DeliveryAttemptOutput",
)


def close_output_objects(result, generator, request, public):
    """The answers carry exactly the documented fields: a field added to a
    representation without documenting it fails the schemathesis test."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in OUTPUT_COMPONENTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
