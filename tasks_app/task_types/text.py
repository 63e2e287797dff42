"""Task types about text and websites: categorization, comparison, transcription,
datacollection, namedentityrecognition (``textcollection``: ``collection``;
``documenttranscription``: ``documents``).

Where Scale's v1 documentation is silent about a response's exact shape, the
type's docstring says what this service checks.
"""

import uuid

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    leaf_labels,
    one_of,
    register,
    remote_attachment,
    require_keys,
    require_list_of_objects,
    require_numbers,
    require_object,
    require_string_values,
)


def taxonomy_choices(taxonomy: dict) -> list[str]:
    return leaf_labels(taxonomy["choices"])


@register
class Categorization(TaskType):
    """Response ``{"category": "a"}`` (a list of distinct categories with ``allow_multiple``),
    as Scale's callback example gives it; with ``taxonomies``, ``{"taxonomies": {key:
    [choice, ...]}}``: for each taxonomy the chosen leaves of its choices (one unless it
    allows several). Scale's pages show no response of the taxonomies form; this is the
    reading this service answers."""

    name = "categorization"

    def validate_response(self, *, params, response):
        if "taxonomies" in params and "categories" not in params:
            return self._validate_taxonomies(params, response)
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

    def _validate_taxonomies(self, params, response):
        require_keys(require_object(response), allowed={"taxonomies"}, required={"taxonomies"})
        answers, taxonomies = response["taxonomies"], params["taxonomies"]
        if not isinstance(answers, dict) or set(answers) != set(taxonomies):
            raise invalid_response(f"`taxonomies` must have exactly the keys {sorted(taxonomies)}.")
        for key, chosen in answers.items():
            choices = taxonomy_choices(taxonomies[key])
            most = len(choices) if taxonomies[key].get("allow_multiple") else 1
            if (
                not isinstance(chosen, list)
                or not 1 <= len(chosen) <= most
                or any(c not in choices for c in chosen)
            ):
                raise invalid_response(f"`taxonomies.{key}` must be a list of at most {most} of {choices}.")
        return {"taxonomies": answers}

    def synthetic_response(self, *, params):
        if "taxonomies" in params and "categories" not in params:
            return {"taxonomies": {key: taxonomy_choices(t)[:1] for key, t in params["taxonomies"].items()}}
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


def entity_names(labels: list) -> list[str]:
    """The names of a task's entity labels, their ``children`` included, in order."""
    names, stack = [], list(reversed(labels or []))
    while stack:
        label = stack.pop()
        names.append(label["name"])
        stack.extend(reversed(label.get("children", [])))
    return names


@register
class NamedEntityRecognition(TaskType):
    """Params: ``text``, ``labels`` [{name, display_name?, description?, children?}],
    ``relationships``. Response, as Scale's callback format gives it: ``{"annotations":
    [{"id", "start", "end", "text", "label", "attributes"?}], "relationships": [{"id",
    "source_ref", "target_ref", "name"?}]}``: a label of the params (children included),
    character offsets with ``0 <= start < end <= len(text)`` (``end`` exclusive, as Python
    slices), relationships between annotations of the response by their ``id``."""

    name = "namedentityrecognition"

    def validate_response(self, *, params, response):
        require_keys(
            require_object(response), allowed={"annotations", "relationships"}, required={"annotations"}
        )
        names = set(entity_names(params["labels"]))
        length = len(params["text"])
        ids = set()
        for annotation in require_list_of_objects(response["annotations"], "annotations"):
            if not one_of(annotation.get("label"), names):
                raise invalid_response(f"Annotation label must be one of {sorted(names)}.")
            require_numbers(annotation, ("start", "end"), "annotation")
            if not 0 <= annotation["start"] < annotation["end"] <= length:
                raise invalid_response(f"Annotation offsets must satisfy 0 <= start < end <= {length}.")
            if isinstance(annotation.get("id"), str):
                ids.add(annotation["id"])
        relationship_names = {item["name"] for item in params.get("relationships", []) if "name" in item}
        for link in require_list_of_objects(response.get("relationships", []), "relationships"):
            if not one_of(link.get("source_ref"), ids) or not one_of(link.get("target_ref"), ids):
                raise invalid_response("A relationship's source_ref and target_ref are ids of annotations.")
            if "name" in link and not one_of(link["name"], relationship_names):
                raise invalid_response(f"A relationship's name must be one of {sorted(relationship_names)}.")
        return response

    def synthetic_response(self, *, params):
        text = params["text"]
        if not text:
            return {"annotations": [], "relationships": []}
        label = params["labels"][0]["name"]
        annotation = {"id": str(uuid.uuid4()), "start": 0, "end": len(text), "text": text, "label": label}
        return {"annotations": [annotation], "relationships": []}
