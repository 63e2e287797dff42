"""The task type registry (SPEC §4): one class per type, with its params and response validation.

A type declares a params serializer (the fields Scale accepts flat in the
create body), a response serializer (what an operator may submit), and which
params are URLs to download before work starts.
"""

from rest_framework import serializers

from tasks_app.serializers import StrictBooleanField, StrictCharField

REGISTRY: dict[str, "TaskType"] = {}


def register(cls):
    REGISTRY[cls.name] = cls()
    return cls


def get_task_type(name: str) -> "TaskType":
    try:
        return REGISTRY[name]
    except KeyError:
        supported = ", ".join(sorted(REGISTRY))
        raise serializers.ValidationError(
            {"type": [f"Unsupported task type {name!r}. Supported types: {supported}."]}
        ) from None


class TaskType:
    name: str
    params_serializer: type[serializers.Serializer]

    def params_fields(self) -> set[str]:
        return set(self.params_serializer().fields)

    def validate_params(self, data: dict) -> dict:
        serializer = self.params_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def validate_response(self, *, params: dict, response) -> dict:
        raise NotImplementedError

    def attachment_urls(self, params: dict) -> list[str]:
        """The params that name a remote file to download at creation."""
        return []


def _require_object(response) -> dict:
    if not isinstance(response, dict):
        raise serializers.ValidationError({"response": ["Must be a JSON object."]})
    return response


# --- categorization -----------------------------------------------------------

ATTACHMENT_TYPES = ("text", "image", "website", "pdf")


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


@register
class Categorization(TaskType):
    name = "categorization"
    params_serializer = CategorizationParams

    def validate_response(self, *, params, response):
        category = _require_object(response).get("category")
        categories = params["categories"]
        if params.get("allow_multiple"):
            chosen = category if isinstance(category, list) else [category]
        else:
            chosen = [category]
        if not chosen or not all(isinstance(c, str) and c in categories for c in chosen):
            raise serializers.ValidationError(
                {"response": [f"`category` must be one of {categories}."]}
            )
        if len(set(chosen)) != len(chosen):
            raise serializers.ValidationError({"response": ["Categories must not repeat."]})
        extra = set(response) - {"category"}
        if extra:
            raise serializers.ValidationError({"response": [f"Unknown keys: {sorted(extra)}."]})
        return {"category": category}

    def attachment_urls(self, params):
        return [params["attachment"]] if params.get("attachment_type") != "text" else []


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


@register
class TextCollection(TaskType):
    name = "textcollection"
    params_serializer = TextCollectionParams

    def validate_response(self, *, params, response):
        values = _require_object(response).get("fields")
        if not isinstance(values, dict):
            raise serializers.ValidationError({"response": ["`fields` must be an object."]})
        known = {f["field_id"] for f in params["fields"]}
        unknown = set(values) - known
        missing = known - set(values)
        if unknown or missing:
            raise serializers.ValidationError(
                {"response": [f"`fields` must have exactly the keys {sorted(known)}."]}
            )
        return {"fields": values}

    def attachment_urls(self, params):
        if params.get("attachment") and params.get("attachment_type") != "text":
            return [params["attachment"]]
        return []


# --- imageannotation ----------------------------------------------------------

GEOMETRY_KINDS = ("box", "polygon", "point", "line", "cuboid", "ellipse")


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
                raise serializers.ValidationError(
                    f"{kind}.objects_to_annotate must be a non-empty list."
                )
        return value


@register
class ImageAnnotation(TaskType):
    name = "imageannotation"
    params_serializer = ImageAnnotationParams

    def validate_response(self, *, params, response):
        annotations = _require_object(response).get("annotations")
        if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
            raise serializers.ValidationError(
                {"response": ["`annotations` must be a list of objects."]}
            )
        allowed = set(params["geometries"])
        for annotation in annotations:
            kind = annotation.get("type")
            if not isinstance(kind, str) or kind not in allowed:
                raise serializers.ValidationError(
                    {"response": [f"Annotation type must be one of {sorted(allowed)}."]}
                )
        return {"annotations": annotations}

    def attachment_urls(self, params):
        return [params["attachment"]]
