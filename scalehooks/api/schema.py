"""OpenAPI helpers of the ``/v1`` API (drf-spectacular), served at ``/v1/schema``.

The schema class, the authentication scheme, the error shape, the documented
answers of an operation, and the hook that closes the output objects.
``tests/test_schema.py`` runs schemathesis against the schema, so a response
that drifts from what is described fails the suite.
"""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "scalehooks.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic: the API key (live_… or test_…) as user name, an empty password.",
        }


class TimestampFieldSchema(OpenApiSerializerFieldExtension):
    """``TimestampField``: a string; in answers, always in the one format, shown by example."""

    target_class = "scalehooks.api.fields.TimestampField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "response":
            return {"type": "string", "example": "2016-06-23T21:54:44.904Z"}
        return {"type": "string"}


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


_ERROR_TEXT = {
    400: (
        "Invalid input (`details` names each field and its messages), or a change the "
        "object's state does not allow."
    ),
    401: "No API key, or not a valid one.",
    404: "No such task for this key (another account's task, or of the other mode, is a 404 too).",
    409: "Conflict: the unique_id is taken, or the Idempotency-Key was used for another request.",
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


OUTPUT_COMPONENTS = (
    "Task",
    "TaskPage",
    "Profile",
    "Error",
    "Audit",
    "CallbackResend",
    "TaskCallbacks",
    "DeliveryOutput",
    "DeliveryAttemptOutput",
    "Project",
    "Batch",
    "BatchStatus",
    "BatchPage",
    "BatchCallbacks",
    "BatchCallbackResend",
    "InboxOutput",
    "ScriptOutput",
    "InboxList",
    "InboxRequests",
    "CapturedRequestOutput",
    "VerificationOutput",
    "AnswerOutput",
    "InboxDeleted",
    "InboxRequestsCleared",
)


def close_output_objects(result, generator, request, public):
    """The answers carry exactly the documented fields: a field added to a
    representation without documenting it fails the schemathesis test."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in OUTPUT_COMPONENTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
