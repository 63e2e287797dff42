"""Input serializers of the task API. Output is ``representation.task_representation``.

JSON bodies are strict (the fields of ``scalehooks.api.fields``): a string field
takes only a JSON string, a boolean only ``true``/``false``, and a key the route
does not know is a 400 (a typo must not be silently ignored). Query parameters
stay lenient (they are all strings).
"""

import functools
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from scalehooks.api.fields import NameField, StrictBooleanField, StrictCharField, StrictInput, TimestampField
from tasks_app.models import MAX_TAG_LENGTH, MAX_TAGS, Batch, Task
from tasks_app.task_params import TYPE_PARAMS
from tasks_app.task_types import get_task_type
from tasks_app.validators import CallbackTargetValidator, validate_attachment_url

MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 32


def json_depth(value) -> int:
    """How deeply ``value`` nests objects and lists (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def validate_metadata(value: dict) -> dict:
    """Metadata is stored and sent in every callback: keep it reasonable."""
    if json_depth(value) > MAX_METADATA_DEPTH:
        raise serializers.ValidationError(f"Nested deeper than {MAX_METADATA_DEPTH} levels.")
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # infinity or NaN, which no database stores as JSON
        raise serializers.ValidationError("Numbers must be finite.") from None
    size = len(text.encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise serializers.ValidationError(f"Larger than {MAX_METADATA_BYTES} bytes as JSON ({size} bytes).")
    return value


def MetadataField(**kwargs):
    return serializers.DictField(validators=[validate_metadata], **kwargs)


class TaskCreateInput(serializers.Serializer):
    """The fields every task type shares; the type's params are validated by its
    ``task_params`` input. Unknown keys are refused by ``task_create_body``, which
    knows the type's params."""

    instruction = StrictCharField(max_length=100_000, required=False, allow_blank=True, default="")
    callback_url = StrictCharField(
        max_length=2048,
        required=False,
        allow_blank=True,
        default="",
        validators=[CallbackTargetValidator()],
    )
    metadata = MetadataField(required=False, default=dict)
    unique_id = NameField(max_length=255, required=False, allow_null=True, default=None)
    tags = serializers.ListField(
        child=NameField(max_length=MAX_TAG_LENGTH), required=False, max_length=MAX_TAGS
    )
    project = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    batch = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    params = serializers.DictField(required=False)


COMMON_FIELDS = frozenset(TaskCreateInput().fields)


# Prelabels a create may give: each has the schema of the type's response (Scale's reference).
PRELABELS = ("hypothesis", "base_annotations")

# The fields of a create a project's params give a task that omits them (SPEC §12).
INHERITED_COMMON_FIELDS = frozenset({"instruction", "callback_url", "metadata", "tags"})


@functools.cache
def _field_names(serializer_class) -> frozenset[str]:
    """The names of a serializer's fields (instantiating one copies every field: once per class)."""
    return frozenset(serializer_class().fields)


def task_create_body(*, task_type: str, data, defaults: dict | None = None, allowed_networks=()) -> dict:
    """The keyword arguments of ``services.task_create`` (``task_type``, ``fields``,
    ``params``) for a create body: the common fields, and the type's params, flat
    in the body (as Scale takes them) or under ``params``.

    ``defaults`` (a project's params) fill in every field the body omits; keys of
    them that are no field of the type are left out. ``allowed_networks``: the
    account's (``Profile.allowed_networks``), for the callback URL's check."""
    kind = get_task_type(task_type)
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    params_input = TYPE_PARAMS[kind.name]
    params_fields = _field_names(params_input)
    unknown = set(data) - COMMON_FIELDS - params_fields
    if unknown:
        raise serializers.ValidationError({field: ["Unknown field."] for field in sorted(unknown)})
    if defaults:
        nested = data.get("params")
        given = set(data) | (set(nested) if isinstance(nested, dict) else set())
        inherited = {
            key: value
            for key, value in defaults.items()
            if key not in given and (key in INHERITED_COMMON_FIELDS or key in params_fields)
        }
        data = {**inherited, **data}

    common = TaskCreateInput(
        data={k: v for k, v in data.items() if k in COMMON_FIELDS},
        context={"allowed_networks": allowed_networks},
    )
    common.is_valid(raise_exception=True)
    fields = dict(common.validated_data)
    params = {**fields.pop("params", {}), **{k: v for k, v in data.items() if k in params_fields}}
    params = params_input(data=params)
    params.is_valid(raise_exception=True)
    params = dict(params.validated_data)
    for name in PRELABELS:
        if name in params:
            try:
                kind.validate_prelabels(params=params, value=params[name])
            except DjangoValidationError as exc:
                raise serializers.ValidationError(
                    {name: exc.message_dict.get("response", exc.messages)}
                ) from None
    for url in kind.attachment_urls(params):
        try:
            validate_attachment_url(url)
        except DjangoValidationError as exc:
            name = "attachment" if params.get("attachment") == url else "attachments"
            raise serializers.ValidationError({name: exc.messages}) from None
    return {"task_type": kind.name, "fields": fields, "params": params}


class TaskCompleteInput(StrictInput):
    """An operator's response for the task, valid for its type."""

    response = serializers.JSONField()


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
    # Django refuses a query of more than DATA_UPLOAD_MAX_NUMBER_FIELDS (1000) parameters.
    unique_id = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=500
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH), required=False, max_length=MAX_TAGS
    )
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


class TaskAuditInput(StrictInput):
    """The customer's review of a completed task."""

    accepted = StrictBooleanField()
    comments = StrictCharField(
        max_length=10_000, required=False, allow_blank=True, allow_null=True, default=""
    )


class TaskUniqueIdInput(StrictInput):
    """The new unique_id (unique per account and mode)."""

    unique_id = NameField(max_length=255)


class TaskTagsInput(StrictInput):
    """A list of tags; the body is the bare JSON list, as the official client sends it
    (``{"tags": [...]}`` is accepted too). No body is the empty list: the client sends ``[]``
    as no body at all, with its JSON content type."""

    tags = serializers.ListField(child=NameField(max_length=MAX_TAG_LENGTH), max_length=MAX_TAGS)

    @classmethod
    def from_body(cls, body) -> "TaskTagsInput":
        if isinstance(body, list):
            return cls(data={"tags": body})
        empty = isinstance(body, dict) and not body  # no body (a JSON null stays an error)
        return cls(data={"tags": []} if empty else body)


class TaskMetadataInput(serializers.Serializer):
    """The body is the metadata object itself."""

    metadata = MetadataField()

    @classmethod
    def from_body(cls, body) -> "TaskMetadataInput":
        return cls(data={"metadata": body})


class TaskErrorInput(StrictInput):
    """The error message; the task's response becomes `{"error": message}`."""

    error = StrictCharField(max_length=10_000)


class ProfileUpdateInput(StrictInput):
    """The fields to change: ``default_callback_url`` of the key's mode (an http(s) URL, an
    email address, or "" for none) and ``test_tasks_autocomplete`` (SPEC §13); at least one.
    Context: ``allowed_networks``, the account's."""

    default_callback_url = StrictCharField(
        max_length=2048, allow_blank=True, required=False, validators=[CallbackTargetValidator()]
    )
    test_tasks_autocomplete = StrictBooleanField(required=False)

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Give default_callback_url or test_tasks_autocomplete.")
        return data


# --- projects and batches (SPEC §12) ------------------------------------------------


class ProjectCreateInput(StrictInput):
    """``POST /v1/projects`` as the official client sends it (``params``, ``datasetId`` may be null)."""

    type = StrictCharField(max_length=64)
    name = NameField(max_length=255)
    params = MetadataField(required=False, allow_null=True, default=None)
    rapid = StrictBooleanField(required=False, default=False)
    studio = StrictBooleanField(required=False, default=False)
    datasetId = StrictCharField(max_length=255, required=False, allow_null=True, default=None)


class ProjectParamsInput(serializers.Serializer):
    """``POST /v1/projects/{name}/setParams``: the params (any keys) and ``patch`` (merge, not replace)."""

    params = MetadataField()
    patch = StrictBooleanField(required=False, default=False)

    @classmethod
    def from_body(cls, body) -> "ProjectParamsInput":
        if not isinstance(body, dict):
            return cls(data={"params": body})
        params = {key: value for key, value in body.items() if key != "patch"}
        data = {"params": params}
        if "patch" in body:
            data["patch"] = body["patch"]
        return cls(data=data)


class BatchCreateInput(StrictInput):
    """``POST /v1/batches``."""

    project = StrictCharField(max_length=255)
    name = NameField(max_length=255)
    callback = StrictCharField(
        max_length=2048, required=False, allow_blank=True, default="", validators=[CallbackTargetValidator()]
    )
    metadata = MetadataField(required=False, allow_null=True, default=None)
    calibration_batch = StrictBooleanField(required=False, default=False)
    self_label_batch = StrictBooleanField(required=False, default=False)
    staging_batch = StrictBooleanField(required=False, default=False)


class BatchListInput(serializers.Serializer):
    """The query of ``GET /v1/batches`` (the client sends ``exclude_archived=False``)."""

    project = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(choices=Batch.Status.choices, required=False)
    start_time = TimestampField(required=False)
    end_time = TimestampField(required=False)
    exclude_archived = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=100)
    offset = serializers.IntegerField(min_value=0, max_value=1_000_000_000, default=0)
