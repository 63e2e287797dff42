"""Params of ``textcollection`` (Scale's Generative AI reference): the ``attachments`` array of
``TextCollectionAttachment`` objects and the ``fields`` of the form, ``UnitField`` objects of
each kind and ``FieldSet`` objects grouping them.

Scale's reference gives every field ``type``, ``field_id``, ``title``, ``description``,
``hint``, ``required``, ``min_responses_required``, ``max_responses_required`` and
``conditions``, a ``category`` field its ``choices`` (``CategoryChoice`` objects, nested by
``subchoices``) and ``min_choices``/``max_choices``, a ``field_set`` its child ``fields``
(at least two) and ``inline``. Other keys of a field, which the reference describes per
kind, are kept as given. ``field_id`` values are distinct across the whole form: the
response is keyed by them.
"""

from collections import Counter

from rest_framework import serializers

from scalehooks.api.fields import StrictCharField
from tasks_app.task_params import shapes
from tasks_app.task_params.common import ScaleParams
from tasks_app.task_types import ATTACHMENT_TYPES
from tasks_app.task_types.collection import FIELD_SET, FIELD_TYPES, walk_fields

ATTACHMENT_KINDS = ("pdf", "image", "text", "video", "website", "audio")
URL_ATTACHMENT_KINDS = frozenset(ATTACHMENT_KINDS) - {"text"}
MAX_FIELDS = 500

_attachment = shapes.obj(
    {
        "type": shapes.one_of(*ATTACHMENT_KINDS),
        "content": shapes.string(max_length=shapes.MAX_TEXT),
        "forms": shapes.list_of(shapes.string(max_length=200, blank=False)),
    },
    required=("type", "content"),
)


def attachment(value, path):
    checked = _attachment(value, path)
    if checked["type"] in URL_ATTACHMENT_KINDS:
        shapes.url()(checked["content"], shapes.key_path(path, "content"))
    return checked


def category_choice(value, path, depth=1):
    shapes.too_deep(path, depth)
    return shapes.obj(
        {
            "label": shapes.string(max_length=1_000, blank=False),
            "value": shapes.either(
                shapes.string(max_length=1_000),
                shapes.boolean(),
                shapes.number(),
                message="Must be a string, a number or true/false.",
            ),
            "hint": shapes.string(),
            "subchoices": shapes.list_of(
                lambda item, item_path: category_choice(item, item_path, depth + 1), min_items=1
            ),
        },
        required=("label", "value"),
    )(value, path)


def _responses_range(field, path):
    low = field.get("min_responses_required", 1)
    if field.get("max_responses_required", max(low, 1)) < low:
        shapes.invalid(path, "max_responses_required must be at least min_responses_required.")
    if field.get("max_choices", field.get("min_choices", 1)) < field.get("min_choices", 1):
        shapes.invalid(path, "max_choices must be at least min_choices.")
    return field


UNIT_FIELD_KEYS = {
    "type": shapes.one_of(*FIELD_TYPES, FIELD_SET),
    "field_id": shapes.string(max_length=200, blank=False),
    "title": shapes.string(max_length=1_000, blank=False),
    "description": shapes.string(),
    "hint": shapes.string(),
    "required": shapes.boolean(),
    "min_responses_required": shapes.number(integer=True, minimum=1),
    "max_responses_required": shapes.number(integer=True, minimum=1, maximum=100),
    "conditions": shapes.list_of(
        shapes.either(
            shapes.obj({}, strict=False), shapes.list_of(shapes.any_json()), message="Must be a set."
        )
    ),
}


def form_field(value, path, depth=1):
    shapes.too_deep(path, depth)
    kind = value.get("type") if isinstance(value, dict) else None
    keys = dict(UNIT_FIELD_KEYS)
    required = ["type", "field_id", "title"]
    if kind == "category":
        keys |= {
            "choices": shapes.list_of(category_choice, min_items=1),
            "min_choices": shapes.number(integer=True, minimum=0),
            "max_choices": shapes.number(integer=True, minimum=1),
        }
        required.append("choices")
    elif kind == FIELD_SET:
        keys |= {
            "fields": shapes.list_of(
                lambda item, item_path: form_field(item, item_path, depth + 1),
                min_items=2,
                max_items=MAX_FIELDS,
            ),
            "inline": shapes.boolean(),
        }
        required.append("fields")
    checked = shapes.obj(keys, required=required, strict=False, then=_responses_range)(value, path)
    if checked.get("inline") and (
        len(checked["fields"]) > 2
        or any(child["type"] not in ("text", "number") for child in checked["fields"])
    ):
        shapes.invalid(path, "An inline field_set has at most 2 fields, text or number.")
    return checked


def form(value, path):
    fields = shapes.list_of(form_field, min_items=1, max_items=MAX_FIELDS)(value, path)
    counts = Counter(field["field_id"] for field in walk_fields(fields))
    repeated = sorted(field_id for field_id, count in counts.items() if count > 1)
    if repeated:
        shapes.invalid(path, f"field_id values must be distinct; repeated: {', '.join(repeated)}.")
    return fields


class TextCollectionParams(ScaleParams):
    """``attachments`` and ``fields`` as Scale's reference gives them; ``attachment`` and
    ``attachment_type``: one attachment, the form SPEC §4 names."""

    attachments = shapes.Shaped(shapes.list_of(attachment, max_items=100), required=False)
    attachment = StrictCharField(max_length=10_000, required=False, allow_blank=True)
    attachment_type = serializers.ChoiceField(choices=ATTACHMENT_TYPES, default="text")
    fields = shapes.Shaped(form)
    title = shapes.Shaped(shapes.string(max_length=1_000), required=False)
    description = shapes.Shaped(shapes.string(), required=False)
    responses_required = shapes.Shaped(shapes.number(integer=True, minimum=1, maximum=100), required=False)
