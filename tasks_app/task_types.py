"""The task type registry (SPEC §4): one class per type, with its response validation.

A type validates the response an operator submits, and says which params are
URLs to download before work starts. The params it accepts at creation are an
API input, declared in ``task_params``. Invalid input raises Django's
``ValidationError``, keyed by field.
"""

from django.core.exceptions import ValidationError

REGISTRY: dict[str, "TaskType"] = {}

ATTACHMENT_TYPES = ("text", "image", "website", "pdf")
GEOMETRY_KINDS = ("box", "polygon", "point", "line", "cuboid", "ellipse")


def register(cls):
    REGISTRY[cls.name] = cls()
    return cls


def get_task_type(name: str) -> "TaskType":
    try:
        return REGISTRY[name]
    except KeyError:
        supported = ", ".join(sorted(REGISTRY))
        raise ValidationError(
            {"type": [f"Unsupported task type {name!r}. Supported types: {supported}."]}
        ) from None


class TaskType:
    name: str

    def validate_response(self, *, params: dict, response) -> dict:
        raise NotImplementedError

    def attachment_urls(self, params: dict) -> list[str]:
        """The params that name a remote file to download at creation."""
        return []


def _invalid_response(message: str) -> ValidationError:
    return ValidationError({"response": [message]})


def _require_object(response) -> dict:
    if not isinstance(response, dict):
        raise _invalid_response("Must be a JSON object.")
    return response


@register
class Categorization(TaskType):
    name = "categorization"

    def validate_response(self, *, params, response):
        category = _require_object(response).get("category")
        categories = params["categories"]
        if params.get("allow_multiple"):
            chosen = category if isinstance(category, list) else [category]
        else:
            chosen = [category]
        if not chosen or not all(isinstance(c, str) and c in categories for c in chosen):
            raise _invalid_response(f"`category` must be one of {categories}.")
        if len(set(chosen)) != len(chosen):
            raise _invalid_response("Categories must not repeat.")
        extra = set(response) - {"category"}
        if extra:
            raise _invalid_response(f"Unknown keys: {sorted(extra)}.")
        return {"category": category}

    def attachment_urls(self, params):
        return [params["attachment"]] if params.get("attachment_type") != "text" else []


@register
class TextCollection(TaskType):
    name = "textcollection"

    def validate_response(self, *, params, response):
        values = _require_object(response).get("fields")
        if not isinstance(values, dict):
            raise _invalid_response("`fields` must be an object.")
        known = {f["field_id"] for f in params["fields"]}
        unknown = set(values) - known
        missing = known - set(values)
        if unknown or missing:
            raise _invalid_response(f"`fields` must have exactly the keys {sorted(known)}.")
        return {"fields": values}

    def attachment_urls(self, params):
        if params.get("attachment") and params.get("attachment_type") != "text":
            return [params["attachment"]]
        return []


@register
class ImageAnnotation(TaskType):
    name = "imageannotation"

    def validate_response(self, *, params, response):
        annotations = _require_object(response).get("annotations")
        if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
            raise _invalid_response("`annotations` must be a list of objects.")
        allowed = set(params["geometries"])
        for annotation in annotations:
            kind = annotation.get("type")
            if not isinstance(kind, str) or kind not in allowed:
                raise _invalid_response(f"Annotation type must be one of {sorted(allowed)}.")
        return {"annotations": annotations}

    def attachment_urls(self, params):
        return [params["attachment"]]
