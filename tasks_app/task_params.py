"""The params each task type accepts at creation (SPEC §4): one input serializer per type.

Scale takes them flat in the create body; ``serializers.task_create_body``
validates them with the type's serializer here. What a type does with its
params once stored (its response, its attachments) is ``task_types``.
"""

from rest_framework import serializers

from scalehooks.api.fields import StrictBooleanField, StrictCharField
from tasks_app.task_types import ATTACHMENT_TYPES, GEOMETRY_KINDS

# --- categorization -----------------------------------------------------------


class CategorizationParams(serializers.Serializer):
    attachment_type = serializers.ChoiceField(choices=ATTACHMENT_TYPES, default="text")
    attachment = StrictCharField(max_length=10_000)
    categories = serializers.ListField(
        child=StrictCharField(max_length=1_000), min_length=2, max_length=1_000
    )
    allow_multiple = StrictBooleanField(default=False)

    def validate_categories(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Categories must be distinct.")
        return value

    def validate(self, data):
        if data["attachment_type"] != "text":
            serializers.URLField().run_validation(data["attachment"])
        return data


# --- textcollection -----------------------------------------------------------


class TextCollectionField(serializers.Serializer):
    field_id = StrictCharField(max_length=200)
    title = StrictCharField(max_length=1_000)
    type = serializers.ChoiceField(choices=("text", "number", "category", "date"), default="text")
    description = StrictCharField(max_length=10_000, required=False)
    choices = serializers.ListField(child=StrictCharField(), required=False)


class TextCollectionParams(serializers.Serializer):
    attachment = StrictCharField(max_length=10_000, required=False, allow_blank=True)
    attachment_type = serializers.ChoiceField(choices=ATTACHMENT_TYPES, default="text")
    fields = TextCollectionField(many=True, allow_empty=False)

    def validate_fields(self, value):
        ids = [f["field_id"] for f in value]
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError("field_id values must be distinct.")
        return value


# --- imageannotation ----------------------------------------------------------


class ImageAnnotationParams(serializers.Serializer):
    attachment = serializers.URLField(max_length=2_048)
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    geometries = serializers.DictField(child=serializers.DictField(), allow_empty=False)

    def validate_geometries(self, value):
        unknown = set(value) - set(GEOMETRY_KINDS)
        if unknown:
            raise serializers.ValidationError(
                f"Unknown geometries {sorted(unknown)}; supported: {', '.join(GEOMETRY_KINDS)}."
            )
        for kind, spec in value.items():
            objects = spec.get("objects_to_annotate")
            if (
                not isinstance(objects, list)
                or not objects
                or not all(isinstance(o, (str, dict)) for o in objects)
            ):
                raise serializers.ValidationError(f"{kind}.objects_to_annotate must be a non-empty list.")
        return value


# task type name → its params input
TYPE_PARAMS: dict[str, type[serializers.Serializer]] = {
    "categorization": CategorizationParams,
    "textcollection": TextCollectionParams,
    "imageannotation": ImageAnnotationParams,
}
