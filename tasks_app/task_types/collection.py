"""``textcollection``: a form of fields answered about the attachments.

The response, as Scale's callback format gives it, is ``{"annotations": {field_id: answer}}``:
an answer has the kind of its field (text: a string; number: a number, or a numeric string as
Scale's own example shows; boolean: true/false; datetime: a string; category and select: the
list of the chosen choice values, leaves only; field_set: an object keyed by its fields'
ids), and is a list of such answers when the field's ``max_responses_required`` is above 1.
A ``required`` field must be answered. The synthetic response of test mode answers every
field with the first choice or an empty value of its kind; a ``time_range`` field, whose
answer Scale's reference leaves undescribed, with ``null``.
"""

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    is_number,
    register,
    remote_attachment,
    require_keys,
    require_object,
)

FIELD_TYPES = ("text", "boolean", "number", "datetime", "category", "select", "time_range")
FIELD_SET = "field_set"
URL_ATTACHMENTS = ("image", "website", "pdf")  # downloaded at creation, as `attachment` is


def walk_fields(fields: list) -> list[dict]:
    """Every field of the form, the fields of field sets included (without recursion)."""
    found, stack = [], list(reversed(fields))
    while stack:
        field = stack.pop()
        found.append(field)
        if field.get("type") == FIELD_SET:
            stack.extend(reversed(field.get("fields", [])))
    return found


def leaf_values(choices: list) -> list:
    """The values a category field's answer may hold: choices without subchoices."""
    values, stack = [], list(reversed(choices or []))
    while stack:
        choice = stack.pop()
        if choice.get("subchoices"):
            stack.extend(reversed(choice["subchoices"]))
        else:
            values.append(choice["value"])
    return values


def sample_answer(field: dict):
    kind = field["type"]
    if kind == FIELD_SET:
        one = {child["field_id"]: sample_answer(child) for child in field["fields"]}
    elif kind in ("category", "select"):
        one = leaf_values(field.get("choices"))[: max(field.get("min_choices", 1), 1)]
    else:
        one = {"text": "", "number": 0, "boolean": False, "datetime": "1970-01-01"}.get(kind)
    if field.get("max_responses_required", 1) > 1:
        return [one] * field.get("min_responses_required", 1)
    return one


def _check_one(field: dict, value, where: str, *, partial: bool) -> None:
    kind = field["type"]
    if kind == FIELD_SET:
        check_answers(field["fields"], value, where, partial=partial)
    elif kind in ("text", "datetime") and not isinstance(value, str):
        raise invalid_response(f"`{where}` must be a string.")
    elif kind == "boolean" and not isinstance(value, bool):
        raise invalid_response(f"`{where}` must be true or false.")
    elif kind == "number" and not (is_number(value) or _numeric(value)):
        raise invalid_response(f"`{where}` must be a number.")
    elif kind in ("category", "select"):
        allowed = leaf_values(field.get("choices"))
        if not isinstance(value, list) or (allowed and any(item not in allowed for item in value)):
            raise invalid_response(f"`{where}` must be a list of the values of its choices {allowed}.")
        if len(value) > field.get("max_choices", max(len(allowed), 1)):
            raise invalid_response(f"`{where}`: at most {field.get('max_choices')} choices.")


def _numeric(value) -> bool:
    try:
        return isinstance(value, str) and float(value) == float(value)
    except ValueError:
        return False


def check_answers(fields: list, answers, where: str, *, partial: bool = False) -> None:
    """``answers`` {field_id: answer} for ``fields``; with ``partial`` (a hypothesis), a
    required field may be left out."""
    if not isinstance(answers, dict):
        raise invalid_response(f"`{where}` must be an object keyed by field_id.")
    by_id = {field["field_id"]: field for field in fields}
    unknown = sorted(set(answers) - set(by_id))
    if unknown:
        raise invalid_response(f"`{where}`: unknown field ids {unknown}; the fields are {sorted(by_id)}.")
    missing = sorted(fid for fid, field in by_id.items() if field.get("required") and fid not in answers)
    if missing and not partial:
        raise invalid_response(f"`{where}`: the required fields {missing} are not answered.")
    for field_id, value in answers.items():
        field = by_id[field_id]
        if field.get("max_responses_required", 1) > 1:
            if not isinstance(value, list) or len(value) > field["max_responses_required"]:
                raise invalid_response(
                    f"`{where}.{field_id}` must be a list of at most {field['max_responses_required']} answers."
                )
            for i, item in enumerate(value):
                _check_one(field, item, f"{where}.{field_id}[{i}]", partial=partial)
        else:
            _check_one(field, value, f"{where}.{field_id}", partial=partial)


@register
class TextCollection(TaskType):
    name = "textcollection"

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations"}, required={"annotations"})
        check_answers(params["fields"], response["annotations"], "annotations")
        return {"annotations": response["annotations"]}

    def validate_prelabels(self, *, params, value):
        require_keys(require_object(value), allowed={"annotations"}, required={"annotations"})
        check_answers(params["fields"], value["annotations"], "annotations", partial=True)

    def synthetic_response(self, *, params):
        return {"annotations": {field["field_id"]: sample_answer(field) for field in params["fields"]}}

    def attachment_urls(self, params):
        urls = [item["content"] for item in params.get("attachments", []) if item["type"] in URL_ATTACHMENTS]
        return remote_attachment(params) + urls
