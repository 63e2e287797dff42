"""Params of ``documenttranscription`` (``tasks_app.task_types.documents``), as Scale's
document transcription reference gives them: the document (``attachment``, or
``attachments`` for a document of several pages), ``lang``, the ``geometry`` of the
annotations' locations, and the ``features`` to transcribe.

A feature has a ``type`` (``text``, ``block`` or ``group``), a ``label`` (text and block)
or a ``title`` (group), and ``flags`` (Scale's content flags); other keys of a feature are
kept as given. ``attachment_type`` (``pdf`` or ``image``) is this service's own, kept for
the clients that send it.
"""

from rest_framework import serializers

from tasks_app.task_params import shapes
from tasks_app.task_params.common import MAX_URL, ScaleParams

FEATURE_TYPES = ("text", "block", "group")
CONTENT_FLAGS = (
    "line",
    "key",
    "value",
    "money",
    "date",
    "checkbox",
    "thead",
    "tbody",
    "region",
    "query",
    "span",
)


def _label_or_title(feature, path):
    needed = "title" if feature["type"] == "group" else "label"
    if needed not in feature:
        shapes.invalid(path, f"A {feature['type']} feature needs a {needed}.")
    if feature["type"] == "group" and "label" in feature:
        shapes.invalid(path, "A group feature has a title, not a label.")
    return feature


feature = shapes.obj(
    {
        "type": shapes.one_of(*FEATURE_TYPES),
        "label": shapes.string(max_length=1_000, blank=False),
        "title": shapes.string(max_length=1_000, blank=False),
        "flags": shapes.list_of(shapes.one_of(*CONTENT_FLAGS), max_items=len(CONTENT_FLAGS)),
    },
    required=("type",),
    strict=False,
    then=_label_or_title,
)


class DocumentTranscriptionParams(ScaleParams):
    attachment = serializers.URLField(max_length=MAX_URL, required=False)
    attachments = shapes.Shaped(shapes.list_of(shapes.url(), min_items=1, max_items=1_000), required=False)
    attachment_type = serializers.ChoiceField(choices=("pdf", "image"), default="pdf")
    lang = shapes.Shaped(shapes.string(max_length=35, blank=False), required=False)
    geometry = shapes.Shaped(shapes.one_of("box", "polygon"), required=False)
    features = shapes.Shaped(shapes.list_of(feature, min_items=1, max_items=1_000))

    def validate(self, data):
        if "attachment" not in data and "attachments" not in data:
            raise serializers.ValidationError({"attachment": ["Give attachment or attachments."]})
        return data
