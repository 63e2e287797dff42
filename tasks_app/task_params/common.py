"""What the params inputs of every task type share.

``ScaleParams`` holds the create fields Scale documents for every type (``force``,
``priority``, ``urgency``, ``layers``, ``base_annotations``, ``hypothesis``…): they are
accepted and kept in the task's params as given (numbers may be numeric strings), and
this service does nothing else with them.
"""

from rest_framework import serializers

from scalehooks.api.fields import LenientNumberField, StrictBooleanField, StrictCharField
from tasks_app.task_types import GEOMETRY_KINDS

MAX_URL = 2_048
MAX_TEXT = 100_000


class ScaleParams(serializers.Serializer):
    force = StrictBooleanField(required=False)
    priority = LenientNumberField(integer=True, required=False)
    urgency = StrictCharField(max_length=32, required=False)
    layers = serializers.DictField(required=False)
    base_annotations = serializers.JSONField(required=False)
    hypothesis = serializers.JSONField(required=False)
    can_add_base_annotations = StrictBooleanField(required=False)
    can_edit_base_annotations = StrictBooleanField(required=False)
    can_edit_base_annotation_labels = StrictBooleanField(required=False)
    can_delete_base_annotations = StrictBooleanField(required=False)
    annotation_attributes = serializers.DictField(required=False)
    links = serializers.DictField(required=False)
    padding = LenientNumberField(min_value=0, required=False)
    paddingX = LenientNumberField(min_value=0, required=False)
    paddingY = LenientNumberField(min_value=0, required=False)


def validate_url(value: str) -> str:
    serializers.URLField(max_length=MAX_URL).run_validation(value)
    return value


class ObjectsToAnnotateField(serializers.ListField):
    """Label names, or objects ``{"choice": name, "subchoices": [...]}`` (Scale's nested labels)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(), min_length=1, max_length=1_000, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        for item in value:
            if isinstance(item, str):
                continue
            if not isinstance(item, dict) or not isinstance(item.get("choice"), str):
                raise serializers.ValidationError("Each entry must be a label or an object with a `choice`.")
        return value


def validate_geometries(value: dict) -> dict:
    """``{kind: {"objects_to_annotate": [...], ...}}``, kinds of ``GEOMETRY_KINDS``."""
    if not value:
        raise serializers.ValidationError("At least one geometry.")
    unknown = set(value) - set(GEOMETRY_KINDS)
    if unknown:
        raise serializers.ValidationError(
            f"Unknown geometries {sorted(unknown)}; supported: {', '.join(GEOMETRY_KINDS)}."
        )
    for kind, spec in value.items():
        objects = spec.get("objects_to_annotate")
        try:
            ObjectsToAnnotateField().run_validation(objects)
        except serializers.ValidationError:
            raise serializers.ValidationError(
                f"{kind}.objects_to_annotate must be a non-empty list of labels."
            ) from None
    return value


def GeometriesField(**kwargs):
    return serializers.DictField(child=serializers.DictField(), validators=[validate_geometries], **kwargs)


def FieldsField(**kwargs):
    """``{key: description}``: what the worker fills in, by key."""
    return serializers.DictField(child=StrictCharField(max_length=10_000, allow_blank=True), **kwargs)
