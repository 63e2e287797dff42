"""Params of the text and website task types (``tasks_app.task_types.text``); documents:
``documents``, text collection: ``collection``."""

from rest_framework import serializers

from scalehooks.api.fields import StrictBooleanField, StrictCharField
from tasks_app.task_params import annotation, shapes
from tasks_app.task_params.common import MAX_TEXT, FieldsField, ScaleParams, validate_url
from tasks_app.task_types import ATTACHMENT_TYPES
from tasks_app.task_types.text import entity_names

CATEGORIZATION_ATTACHMENTS = ("text", "image", "video", "audio", "website", "pdf")

taxonomy = shapes.obj(
    {
        "type": shapes.one_of("category"),
        "description": shapes.string(),
        "choices": annotation.labels(),
        "allow_multiple": shapes.boolean(),
        "condition": shapes.obj({}, strict=False),
    },
    required=("type", "choices"),
)


class CategorizationParams(ScaleParams):
    """``categories`` (the first form of Scale's v1 reference, with ``category_ids`` and
    ``allow_multiple``) or ``taxonomies`` (the later one: categorical taxonomies, each with
    its nested ``choices``): one of the two."""

    attachment_type = serializers.ChoiceField(choices=CATEGORIZATION_ATTACHMENTS, default="text")
    attachment = StrictCharField(max_length=10_000)
    categories = serializers.ListField(
        child=StrictCharField(max_length=1_000), min_length=2, max_length=1_000, required=False
    )
    category_ids = shapes.Shaped(shapes.mapping(shapes.string(max_length=1_000), min_items=1), required=False)
    allow_multiple = StrictBooleanField(default=False)
    taxonomies = shapes.Shaped(shapes.mapping(taxonomy, min_items=1, max_items=100), required=False)

    def validate_categories(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Categories must be distinct.")
        return value

    def validate(self, data):
        if "categories" not in data and "taxonomies" not in data:
            raise serializers.ValidationError({"categories": ["Give categories or taxonomies."]})
        unknown = sorted(set(data.get("category_ids", {}).values()) - set(data.get("categories", [])))
        if unknown:
            raise serializers.ValidationError({"category_ids": [f"Not among the categories: {unknown}."]})
        if data["attachment_type"] != "text":
            validate_url(data["attachment"])
        return data


class ComparisonParams(ScaleParams):
    attachment_type = serializers.ChoiceField(choices=ATTACHMENT_TYPES, default="image")
    attachments = serializers.ListField(
        child=StrictCharField(max_length=10_000), min_length=2, max_length=100
    )
    fields = FieldsField(required=False)
    choices = serializers.DictField(
        child=serializers.ListField(child=StrictCharField(max_length=1_000), min_length=1), required=False
    )

    def validate(self, data):
        if not data.get("fields") and not data.get("choices"):
            raise serializers.ValidationError("Give `fields`, `choices`, or both: what to compare.")
        if data["attachment_type"] != "text":
            for url in data["attachments"]:
                validate_url(url)
        return data


class TranscriptionParams(ScaleParams):
    attachment_type = serializers.ChoiceField(choices=ATTACHMENT_TYPES, default="image")
    attachment = StrictCharField(max_length=10_000)
    fields = FieldsField(min_items=1)
    repeatable_fields = FieldsField(required=False)

    def validate(self, data):
        if data["attachment_type"] != "text":
            validate_url(data["attachment"])
        return data


class DataCollectionParams(ScaleParams):
    attachment_type = serializers.ChoiceField(choices=ATTACHMENT_TYPES, default="website")
    attachment = StrictCharField(max_length=10_000)
    fields = FieldsField(min_items=1)

    def validate(self, data):
        if data["attachment_type"] != "text":
            validate_url(data["attachment"])
        return data


def entity_label(value, path, depth=1):
    """A ``NamedEntityRecognitionLabel``; a bare string is taken as its ``name``."""
    if isinstance(value, str):
        value = {"name": value}
    shapes.too_deep(path, depth)
    return shapes.obj(
        {
            "name": shapes.string(max_length=1_000, blank=False),
            "display_name": shapes.string(max_length=1_000),
            "description": shapes.string(),
            "children": shapes.list_of(
                lambda item, item_path: entity_label(item, item_path, depth + 1), min_items=1
            ),
            "attributes": shapes.obj({}, strict=False),
        },
        required=("name",),
    )(value, path)


def entity_labels(value, path):
    labels = shapes.list_of(entity_label, min_items=1)(value, path)
    names = entity_names(labels)
    if len(set(names)) != len(names):
        shapes.invalid(path, "Label names must be distinct.")
    return labels


relationship = shapes.obj(
    {
        "name": shapes.string(max_length=1_000, blank=False),
        "display_name": shapes.string(max_length=1_000, blank=False),
        "is_directed": shapes.boolean(),
        "source_label": shapes.string(max_length=1_000),
        "target_label": shapes.string(max_length=1_000),
    }
)


class NamedEntityRecognitionParams(ScaleParams):
    """``labels`` (``NamedEntityRecognitionLabel`` objects, nested by ``children``) and
    ``relationships`` (definitions, all named or all unnamed, between labels of the task)."""

    text = StrictCharField(max_length=MAX_TEXT)
    labels = shapes.Shaped(entity_labels)
    relationships = shapes.Shaped(shapes.list_of(relationship, max_items=100), required=False)

    def validate(self, data):
        relationships = data.get("relationships", [])
        named = [("name" in item) for item in relationships]
        if any(named) and not all(named):
            raise serializers.ValidationError({"relationships": ["All relationships are named, or none."]})
        names = set(entity_names(data["labels"]))
        for i, item in enumerate(relationships):
            if ("name" in item) != ("display_name" in item) or ("is_directed" in item and "name" not in item):
                raise serializers.ValidationError(
                    {
                        "relationships": [
                            f"relationships[{i}]: a named one has name and display_name; another neither."
                        ]
                    }
                )
            for end in ("source_label", "target_label"):
                if end in item and item[end] not in names:
                    raise serializers.ValidationError(
                        {"relationships": [f"relationships[{i}].{end}: not a label of the task."]}
                    )
        return data


TEXT_PARAMS = {
    "categorization": CategorizationParams,
    "comparison": ComparisonParams,
    "transcription": TranscriptionParams,
    "datacollection": DataCollectionParams,
    "namedentityrecognition": NamedEntityRecognitionParams,
}
