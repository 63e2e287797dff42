"""``documenttranscription``: the features of a document, transcribed.

The response, as Scale's document transcription reference gives it (and its hypothesis
page, which mirrors it): ``{"annotations": [{"uuid", "page", "label", "text", "location",
"refs", ...}]}``. ``label`` is the label of one of the features (groups are not labeled),
``page`` the index of the page among the attachments, ``location`` a ``box`` ({type, left,
top, width, height}) or a ``polygon`` ({type, vertices}); other keys of an annotation (the
parsed ``money`` or ``date`` of a flagged feature...) are kept as sent. The synthetic
response of test mode transcribes the first labeled feature as empty text in the top left
corner of the first page, located with the params' ``geometry`` (``box`` by default).
"""

import uuid

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    is_number,
    one_of,
    register,
    require_keys,
    require_list_of_objects,
    require_numbers,
    require_object,
)


def feature_labels(features: list) -> list[str]:
    """The labels of the features, those nested under a feature's ``features`` or ``children``
    included, in order."""
    labels, stack = [], list(reversed(features or []))
    while stack:
        feature = stack.pop()
        if isinstance(feature.get("label"), str):
            labels.append(feature["label"])
        for key in ("features", "children"):
            if isinstance(feature.get(key), list):
                stack.extend(reversed([item for item in feature[key] if isinstance(item, dict)]))
    return labels


def check_location(location) -> None:
    if not isinstance(location, dict) or location.get("type") not in ("box", "polygon"):
        raise invalid_response("An annotation's `location` is a box or a polygon with its `type`.")
    if location["type"] == "box":
        require_numbers(location, ("left", "top", "width", "height"), "box location")
    else:
        vertices = require_list_of_objects(location.get("vertices"), "vertices")
        if len(vertices) < 3:
            raise invalid_response("polygon location: at least 3 vertices.")
        for vertex in vertices:
            require_numbers(vertex, ("x", "y"), "polygon location vertex")


SAMPLE_LOCATIONS = {
    "box": {"type": "box", "left": 0, "top": 0, "width": 10, "height": 10},
    "polygon": {"type": "polygon", "vertices": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 10}]},
}


@register
class DocumentTranscription(TaskType):
    name = "documenttranscription"

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations"}, required={"annotations"})
        labels = set(feature_labels(params["features"]))
        for annotation in require_list_of_objects(response["annotations"], "annotations"):
            if not one_of(annotation.get("label"), labels):
                raise invalid_response(f"Annotation label must be one of {sorted(labels)}.")
            page = annotation.get("page", 0)
            if not is_number(page) or page < 0 or page != int(page):
                raise invalid_response("An annotation's `page` is the index of a page, from 0.")
            if "location" in annotation:
                check_location(annotation["location"])
            if not isinstance(annotation.get("refs", []), list):
                raise invalid_response("An annotation's `refs` is a list.")
        return {"annotations": response["annotations"]}

    def synthetic_response(self, *, params):
        labels = feature_labels(params["features"])
        if not labels:
            return {"annotations": []}
        location = SAMPLE_LOCATIONS[params.get("geometry", "box")]
        annotation = {
            "uuid": str(uuid.uuid4()),
            "page": 0,
            "label": labels[0],
            "text": "",
            "location": location,
            "refs": [],
        }
        return {"annotations": [annotation]}

    def attachment_urls(self, params):
        return [params["attachment"]] if "attachment" in params else list(params.get("attachments", []))
