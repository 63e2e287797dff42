"""Task types about text, documents and websites: categorization, comparison, transcription,
documenttranscription, datacollection, namedentityrecognition (``textcollection``: its own
module, ``collection``).

Where Scale's v1 documentation is silent about a response's exact shape, the
type's docstring says what this service checks.
"""

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    register,
    remote_attachment,
    require_keys,
    require_list_of_objects,
    require_numbers,
    require_object,
    require_string_values,
)


@register
class Categorization(TaskType):
    """Response ``{"category": "a"}``, or a list of distinct categories with ``allow_multiple``."""

    name = "categorization"

    def validate_response(self, *, params, response):
        category = require_object(response).get("category")
        categories = params["categories"]
        if params.get("allow_multiple"):
            chosen = category if isinstance(category, list) else [category]
        else:
            chosen = [category]
        if not chosen or not all(isinstance(c, str) and c in categories for c in chosen):
            raise invalid_response(f"`category` must be one of {categories}.")
        if len(set(chosen)) != len(chosen):
            raise invalid_response("Categories must not repeat.")
        require_keys(response, allowed={"category"}, required={"category"})
        return {"category": category}

    def synthetic_response(self, *, params):
        first = params["categories"][0]
        return {"category": [first] if params.get("allow_multiple") else first}

    def attachment_urls(self, params):
        return remote_attachment(params)


@register
class Comparison(TaskType):
    """Params: ``attachments`` (two or more), ``fields`` {key: description} and/or ``choices``
    {key: [options]}. Response ``{"fields": {key: text}, "choices": {key: option}}``, each with
    exactly the keys of the params (an empty object when the params have none)."""

    name = "comparison"

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"fields", "choices"}, required=set())
        fields = require_string_values(
            response.get("fields", {}), keys=set(params.get("fields", {})), name="fields"
        )
        choices = response.get("choices", {})
        options = params.get("choices", {})
        if not isinstance(choices, dict) or set(choices) != set(options):
            raise invalid_response(f"`choices` must have exactly the keys {sorted(options)}.")
        for key, value in choices.items():
            if value not in options[key]:
                raise invalid_response(f"`choices.{key}` must be one of {options[key]}.")
        return {"fields": fields, "choices": choices}

    def synthetic_response(self, *, params):
        return {
            "fields": dict.fromkeys(params.get("fields", {}), ""),
            "choices": {key: options[0] for key, options in params.get("choices", {}).items()},
        }

    def attachment_urls(self, params):
        if params.get("attachment_type", "image") == "text":
            return []
        return list(params["attachments"])


@register
class Transcription(TaskType):
    """Params: ``attachment``, ``fields`` {key: description}, ``repeatable_fields`` {key:
    description}. Response ``{"fields": {key: text}, "repeatable_fields": [{key: text}, ...]}``."""

    name = "transcription"

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"fields", "repeatable_fields"}, required={"fields"})
        fields = require_string_values(response["fields"], keys=set(params.get("fields", {})), name="fields")
        rows = require_list_of_objects(response.get("repeatable_fields", []), "repeatable_fields")
        keys = set(params.get("repeatable_fields", {}))
        for row in rows:
            require_string_values(row, keys=keys, name="repeatable_fields[]")
        return {"fields": fields, "repeatable_fields": rows}

    def synthetic_response(self, *, params):
        return {"fields": dict.fromkeys(params.get("fields", {}), ""), "repeatable_fields": []}

    def attachment_urls(self, params):
        return remote_attachment(params)


@register
class DocumentTranscription(TaskType):
    """Params: ``attachment`` (a PDF or image URL), ``features`` [{type, label, ...}].
    Response ``{"annotations": [{"type", "label", ...}]}``: each annotation names the label of
    one of the features (the rest of its content, such as the text read, is kept as sent)."""

    name = "documenttranscription"

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations"}, required={"annotations"})
        labels = {feature["label"] for feature in params["features"]}
        for annotation in require_list_of_objects(response["annotations"], "annotations"):
            if annotation.get("label") not in labels:
                raise invalid_response(f"Annotation label must be one of {sorted(labels)}.")
        return {"annotations": response["annotations"]}

    def synthetic_response(self, *, params):
        feature = params["features"][0]
        return {"annotations": [{"type": feature["type"], "label": feature["label"], "text": ""}]}

    def attachment_urls(self, params):
        return [params["attachment"]]


@register
class DataCollection(TaskType):
    """Params: ``attachment`` (usually a website), ``fields`` {key: description}.
    Response ``{"fields": {key: text}}`` with exactly the keys of the params."""

    name = "datacollection"

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"fields"}, required={"fields"})
        keys = set(params["fields"])
        return {"fields": require_string_values(response["fields"], keys=keys, name="fields")}

    def synthetic_response(self, *, params):
        return {"fields": dict.fromkeys(params["fields"], "")}

    def attachment_urls(self, params):
        return remote_attachment(params)


@register
class NamedEntityRecognition(TaskType):
    """Params: ``text``, ``labels`` [{name, description?}]. Response ``{"annotations":
    [{"label", "start", "end"}, ...]}``: a label of the params and character offsets with
    ``0 <= start < end <= len(text)`` (``end`` exclusive, as Python slices)."""

    name = "namedentityrecognition"

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations"}, required={"annotations"})
        names = {label["name"] for label in params["labels"]}
        length = len(params["text"])
        for annotation in require_list_of_objects(response["annotations"], "annotations"):
            if annotation.get("label") not in names:
                raise invalid_response(f"Annotation label must be one of {sorted(names)}.")
            require_numbers(annotation, ("start", "end"), "annotation")
            if not 0 <= annotation["start"] < annotation["end"] <= length:
                raise invalid_response(f"Annotation offsets must satisfy 0 <= start < end <= {length}.")
        return {"annotations": response["annotations"]}

    def synthetic_response(self, *, params):
        if not params["text"]:
            return {"annotations": []}
        return {
            "annotations": [{"label": params["labels"][0]["name"], "start": 0, "end": len(params["text"])}]
        }
