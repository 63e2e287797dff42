"""Video task types: ``videoannotation`` (a list of frames, or a video file) and
``videoplaybackannotation`` (a video file), both with the ``geometries`` of
``imageannotation``.

Scale answers a video task with links to JSON files (``annotations.url``, and
``events.url`` for playback). This service keeps them in the response itself:
``{"annotations": [{"frame": n, "uuid", "type", "label", ...coordinates}], "events"?:
[...]}`` (``frame`` counts from 0, less than the number of frames when they are given as
images), the annotations checked as ``imageannotation`` checks its own
(docs/scale-compatibility.md says so beside each video type).
"""

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    leaf_labels,
    register,
    require_keys,
    require_list_of_objects,
    require_numbers,
    require_object,
)
from tasks_app.task_types.geometry import check_annotations_by_geometry, sample_annotation


def check_events(events, names: list[str]) -> None:
    """``events`` as Scale's events reference gives them: ``label`` (one of
    ``events_to_annotate``), ``type`` ``point`` or ``range``, ``start`` (and ``end`` for a
    range) frames, optional ``startTime``, ``endTime`` and ``attributes``."""
    for event in require_list_of_objects(events, "events"):
        if event.get("label") not in names:
            raise invalid_response(f"An event's label must be one of {names}.")
        if event.get("type") not in ("point", "range"):
            raise invalid_response("An event's type is point or range.")
        require_numbers(event, ("start", "end") if event["type"] == "range" else ("start",), "event")


class VideoType(TaskType):
    def frame_count(self, params) -> int | None:
        return None

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations", "events"}, required={"annotations"})
        annotations = check_annotations_by_geometry(response["annotations"], params, coordinates=False)
        frames = self.frame_count(params)
        for annotation in annotations:
            frame = annotation.get("frame")
            if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
                raise invalid_response("Every annotation needs its `frame`, an integer from 0.")
            if frames is not None and frame >= frames:
                raise invalid_response(f"`frame` must be less than {frames}, the number of frames.")
        if "events" in response:
            check_events(response["events"], params.get("events_to_annotate", []))
        return response

    def synthetic_response(self, *, params):
        kind, spec = next(iter(params["geometries"].items()))
        label = leaf_labels(spec["objects_to_annotate"])[0]
        response = {"annotations": [{"frame": 0, **sample_annotation(kind, label, params, typed=True)}]}
        if params.get("events_to_annotate"):
            response["events"] = [{"label": params["events_to_annotate"][0], "type": "point", "start": 0}]
        return response


@register
class VideoAnnotation(VideoType):
    """Params: ``attachments`` (the frames: image URLs, in order; ``attachment_type``
    ``image``) or ``attachment`` (a video file; ``attachment_type`` ``video``),
    ``geometries``, ``frame_rate``, ``events_to_annotate``."""

    name = "videoannotation"

    def frame_count(self, params):
        return len(params["attachments"]) if "attachments" in params else None

    def attachment_urls(self, params):
        return list(params["attachments"]) if "attachments" in params else [params["attachment"]]


@register
class VideoPlaybackAnnotation(VideoType):
    """Params: ``attachment`` (a video URL), ``attachment_type`` ``video``, ``geometries``,
    ``frame_rate``, ``events_to_annotate``."""

    name = "videoplaybackannotation"

    def attachment_urls(self, params):
        return [params["attachment"]]
