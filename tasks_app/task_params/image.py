"""Params of the image and video task types (``tasks_app.task_types.image`` and ``.video``).

The structures they hold (label descriptions, geometries, annotation attributes, layers,
context attachments) are checked by ``annotation``.
"""

from rest_framework import serializers

from scalehooks.api.fields import LenientNumberField, StrictBooleanField
from tasks_app.task_params import annotation, shapes
from tasks_app.task_params.common import MAX_URL, GeometriesField, ImageParams, ObjectsToAnnotateField


class ImageAnnotationParams(ImageParams):
    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    context_attachments = shapes.Shaped(annotation.context_attachments, required=False)
    geometries = GeometriesField()
    links = shapes.Shaped(shapes.obj({}, strict=False), required=False)
    padding = LenientNumberField(integer=True, min_value=0, required=False)
    paddingX = LenientNumberField(integer=True, min_value=0, required=False)
    paddingY = LenientNumberField(integer=True, min_value=0, required=False)
    can_add_base_annotations = StrictBooleanField(required=False)
    can_edit_base_annotations = StrictBooleanField(required=False)
    can_edit_base_annotation_labels = StrictBooleanField(required=False)
    can_delete_base_annotations = StrictBooleanField(required=False)

    def validate(self, data):
        for item in data.get("context_attachments", []):
            if item["attachment"] == data["attachment"]:
                raise serializers.ValidationError(
                    {"context_attachments": ["The task's attachment cannot be a context attachment."]}
                )
        return data


class SingleGeometryParams(ImageParams):
    """The legacy image types: one geometry, its labels in ``objects_to_annotate``."""

    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    objects_to_annotate = ObjectsToAnnotateField()
    with_labels = StrictBooleanField(required=False)
    examples = shapes.Shaped(shapes.list_of(shapes.any_json(), max_items=100), required=False)


class AnnotationParams(SingleGeometryParams):
    min_width = LenientNumberField(min_value=0, required=False)
    min_height = LenientNumberField(min_value=0, required=False)


class VerticesParams(SingleGeometryParams):
    min_vertices = LenientNumberField(integer=True, min_value=1, required=False)
    max_vertices = LenientNumberField(integer=True, min_value=1, required=False)

    def validate(self, data):
        if data.get("min_vertices", 1) > data.get("max_vertices", float("inf")):
            raise serializers.ValidationError("min_vertices must not exceed max_vertices.")
        return data


class LineAnnotationParams(VerticesParams):
    splines = StrictBooleanField(required=False)


class CuboidAnnotationParams(AnnotationParams):
    camera_intrinsics = shapes.Shaped(annotation.CAMERA_OPTIONS["camera_intrinsics"], required=False)
    camera_rotation_quaternion = shapes.Shaped(
        annotation.CAMERA_OPTIONS["camera_rotation_quaternion"], required=False
    )
    camera_height = LenientNumberField(required=False)


class SegmentAnnotationParams(ImageParams):
    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    labels = ObjectsToAnnotateField(max_items=50)  # Scale: at most 50 labels
    allow_unlabeled = StrictBooleanField(default=False)
    context_attachments = shapes.Shaped(annotation.context_attachments, required=False)


EVENTS = shapes.Shaped(
    shapes.list_of(shapes.string(max_length=1_000, blank=False), min_items=1), required=False
)
FRAME_RATE = LenientNumberField(min_value=0, required=False)


class VideoAnnotationParams(ImageParams):
    """Frames (``attachments``, image URLs in order, with ``attachment_type`` ``image``) or a
    video file (``attachment``, with ``attachment_type`` ``video``)."""

    attachments = serializers.ListField(
        child=serializers.URLField(max_length=MAX_URL), min_length=1, max_length=10_000, required=False
    )
    attachment = serializers.URLField(max_length=MAX_URL, required=False)
    attachment_type = serializers.ChoiceField(choices=("image", "video"), default="image")
    geometries = GeometriesField()
    frame_rate = FRAME_RATE
    events_to_annotate = EVENTS

    def validate(self, data):
        if data["attachment_type"] == "image":
            if "attachments" not in data or "attachment" in data:
                raise serializers.ValidationError(
                    {"attachments": ["Frames: attachments, without attachment."]}
                )
        elif "attachment" not in data or "attachments" in data:
            raise serializers.ValidationError({"attachments": ["A video: attachment, without attachments."]})
        if data.get("frame_rate") == 0:
            raise serializers.ValidationError({"frame_rate": ["Must be above 0."]})
        return data


class VideoPlaybackAnnotationParams(ImageParams):
    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("video",), default="video")
    geometries = GeometriesField()
    frame_rate = FRAME_RATE
    events_to_annotate = EVENTS

    def validate(self, data):
        if data.get("frame_rate") == 0:
            raise serializers.ValidationError({"frame_rate": ["Must be above 0."]})
        return data


IMAGE_PARAMS = {
    "imageannotation": ImageAnnotationParams,
    "annotation": AnnotationParams,
    "polygonannotation": VerticesParams,
    "lineannotation": LineAnnotationParams,
    "pointannotation": SingleGeometryParams,
    "cuboidannotation": CuboidAnnotationParams,
    "segmentannotation": SegmentAnnotationParams,
    "videoannotation": VideoAnnotationParams,
    "videoplaybackannotation": VideoPlaybackAnnotationParams,
}
