"""Video task types: ``videoannotation`` (a list of frames) and ``videoplaybackannotation``
(a video file), both with the ``geometries`` of ``imageannotation``.

Scale answers a video task with a link to a JSON file of annotations per frame. This
service keeps the annotations in the response itself: ``{"annotations": [{"frame": n,
"type", "label", ...coordinates}]}`` (``frame`` counts from 0, less than the number of
frames for ``videoannotation``), checked as ``imageannotation`` checks its own.
"""

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    leaf_labels,
    register,
    require_keys,
    require_object,
)
from tasks_app.task_types.geometry import check_annotations_by_geometry, sample_annotation


class VideoType(TaskType):
    def frame_count(self, params) -> int | None:
        return None

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations"}, required={"annotations"})
        annotations = check_annotations_by_geometry(response["annotations"], params, coordinates=False)
        frames = self.frame_count(params)
        for annotation in annotations:
            frame = annotation.get("frame")
            if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
                raise invalid_response("Every annotation needs its `frame`, an integer from 0.")
            if frames is not None and frame >= frames:
                raise invalid_response(f"`frame` must be less than {frames}, the number of frames.")
        return {"annotations": annotations}

    def synthetic_response(self, *, params):
        kind, spec = next(iter(params["geometries"].items()))
        label = leaf_labels(spec["objects_to_annotate"])[0]
        return {"annotations": [{"frame": 0, **sample_annotation(kind, label, params, typed=True)}]}


@register
class VideoAnnotation(VideoType):
    """Params: ``attachments`` (the frames: image URLs, in order), ``attachment_type``
    ``image``, ``geometries``, ``frame_rate``."""

    name = "videoannotation"

    def frame_count(self, params):
        return len(params["attachments"])

    def attachment_urls(self, params):
        return list(params["attachments"])


@register
class VideoPlaybackAnnotation(VideoType):
    """Params: ``attachment`` (a video URL), ``attachment_type`` ``video``, ``geometries``,
    ``frame_rate``."""

    name = "videoplaybackannotation"

    def attachment_urls(self, params):
        return [params["attachment"]]
