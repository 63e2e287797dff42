"""Params of the text, document and website task types (``tasks_app.task_types.text``)."""

from rest_framework import serializers

from scalehooks.api.fields import StrictBooleanField, StrictCharField
from tasks_app.task_params.common import MAX_TEXT, MAX_URL, FieldsField, ScaleParams, validate_url
from tasks_app.task_types import ATTACHMENT_TYPES


class CategorizationParams(ScaleParams):
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


class DocumentFeature(serializers.Serializer):
    type = StrictCharField(max_length=100)
    label = StrictCharField(max_length=1_000)

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        return {**data, **validated}  # other keys of a feature (fields, hints…) are kept


class DocumentTranscriptionParams(ScaleParams):
    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("pdf", "image"), default="pdf")
    features = DocumentFeature(many=True, allow_empty=False)


class DataCollectionParams(ScaleParams):
    attachment_type = serializers.ChoiceField(choices=ATTACHMENT_TYPES, default="website")
    attachment = StrictCharField(max_length=10_000)
    fields = FieldsField(min_items=1)

    def validate(self, data):
        if data["attachment_type"] != "text":
            validate_url(data["attachment"])
        return data


class EntityLabel(serializers.Serializer):
    name = StrictCharField(max_length=1_000)
    description = StrictCharField(max_length=10_000, required=False, allow_blank=True)

    def to_internal_value(self, data):
        return super().to_internal_value({"name": data} if isinstance(data, str) else data)


class NamedEntityRecognitionParams(ScaleParams):
    """``labels`` are objects ``{name, description?}``; a bare string is taken as the name."""

    text = StrictCharField(max_length=MAX_TEXT)
    labels = EntityLabel(many=True, allow_empty=False)

    def validate_labels(self, value):
        names = [label["name"] for label in value]
        if len(set(names)) != len(names):
            raise serializers.ValidationError("Label names must be distinct.")
        return value


TEXT_PARAMS = {
    "categorization": CategorizationParams,
    "comparison": ComparisonParams,
    "transcription": TranscriptionParams,
    "documenttranscription": DocumentTranscriptionParams,
    "datacollection": DataCollectionParams,
    "namedentityrecognition": NamedEntityRecognitionParams,
}
