"""What the params inputs of every task type share.

``ScaleParams`` holds the create fields Scale documents for every type (``priority``,
``clear_unique_id_on_error``, and the older ``force``, ``urgency``, ``layers``,
``base_annotations``, ``hypothesis`` SPEC §4 names): they are checked and kept in the task's
params (numbers may be numeric strings). A key no field of the type knows is a 400 naming
it, flat in the body or under ``params``. ``hypothesis`` and ``base_annotations`` take the
schema of the type's response (``TaskType.validate_prelabels``, called once the params are
valid). ``ImageParams`` adds what Scale's image and video reference documents for
annotations of images: ``annotation_attributes``.
"""

from rest_framework import serializers

from scalehooks.api.fields import LenientNumberField, StrictBooleanField, StrictInput
from tasks_app.task_params import annotation, shapes

MAX_URL = 2_048
MAX_TEXT = 100_000
URGENCIES = ("immediate", "day", "week")


class ScaleParams(StrictInput):
    force = StrictBooleanField(required=False)
    priority = LenientNumberField(integer=True, required=False)
    urgency = shapes.Shaped(shapes.one_of(*URGENCIES), required=False)
    clear_unique_id_on_error = StrictBooleanField(required=False)
    layers = shapes.Shaped(annotation.layers, required=False)
    base_annotations = shapes.Shaped(shapes.obj({}, strict=False), required=False)
    hypothesis = shapes.Shaped(shapes.obj({}, strict=False), required=False)


class ImageParams(ScaleParams):
    annotation_attributes = shapes.Shaped(annotation.annotation_attributes, required=False)


def validate_url(value: str) -> str:
    serializers.URLField(max_length=MAX_URL).run_validation(value)
    return value


def ObjectsToAnnotateField(*, max_items: int = annotation.MAX_LABELS, **kwargs):
    """Label names, or ``LabelDescription`` objects (Scale's nested labels)."""
    return shapes.Shaped(annotation.labels(max_items=max_items), **kwargs)


def GeometriesField(**kwargs):
    """``{kind: {"objects_to_annotate": [...], ...options}}`` (``annotation.geometries``)."""
    return shapes.Shaped(annotation.geometries, **kwargs)


def FieldsField(*, min_items: int = 0, **kwargs):
    """``{key: description}``: what the worker fills in, by key."""
    return shapes.Shaped(shapes.mapping(shapes.string(), min_items=min_items, max_items=500), **kwargs)
