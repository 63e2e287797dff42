"""Params of the image and video task types (``tasks_app.task_types.image`` and ``.video``)."""

from rest_framework import serializers

from scalehooks.api.fields import LenientNumberField, StrictBooleanField
from tasks_app.task_params.common import MAX_URL, GeometriesField, ObjectsToAnnotateField, ScaleParams


class ImageAnnotationParams(ScaleParams):
    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    geometries = GeometriesField()


class SingleGeometryParams(ScaleParams):
    """The legacy image types: one geometry, its labels in ``objects_to_annotate``."""

    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    objects_to_annotate = ObjectsToAnnotateField()
    with_labels = StrictBooleanField(required=False)
    examples = serializers.ListField(required=False)


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


class CuboidAnnotationParams(AnnotationParams):
    camera_intrinsics = serializers.DictField(required=False)
    camera_rotation_quaternion = serializers.DictField(required=False)
    camera_height = LenientNumberField(required=False)


class SegmentAnnotationParams(ScaleParams):
    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    labels = ObjectsToAnnotateField()
    allow_unlabeled = StrictBooleanField(default=False)
    instance_labels = serializers.ListField(required=False)


class VideoAnnotationParams(ScaleParams):
    attachments = serializers.ListField(
        child=serializers.URLField(max_length=MAX_URL), min_length=1, max_length=10_000
    )
    attachment_type = serializers.ChoiceField(choices=("image",), default="image")
    geometries = GeometriesField()
    frame_rate = LenientNumberField(min_value=0, required=False)
    events_to_annotate = serializers.ListField(required=False)


class VideoPlaybackAnnotationParams(ScaleParams):
    attachment = serializers.URLField(max_length=MAX_URL)
    attachment_type = serializers.ChoiceField(choices=("video",), default="video")
    geometries = GeometriesField()
    frame_rate = LenientNumberField(min_value=0, required=False)
    events_to_annotate = serializers.ListField(required=False)


IMAGE_PARAMS = {
    "imageannotation": ImageAnnotationParams,
    "annotation": AnnotationParams,
    "polygonannotation": VerticesParams,
    "lineannotation": VerticesParams,
    "pointannotation": SingleGeometryParams,
    "cuboidannotation": CuboidAnnotationParams,
    "segmentannotation": SegmentAnnotationParams,
    "videoannotation": VideoAnnotationParams,
    "videoplaybackannotation": VideoPlaybackAnnotationParams,
}
