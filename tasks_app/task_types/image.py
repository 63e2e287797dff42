"""Image task types: ``imageannotation`` (geometries), the legacy single-geometry types
(``annotation`` for boxes, ``polygonannotation``, ``lineannotation``, ``pointannotation``,
``cuboidannotation``) and ``segmentannotation``.

An annotation is an object with a ``label`` (one of ``objects_to_annotate``) and the
coordinates of its geometry, in pixels:

- box: ``left``, ``top``, ``width``, ``height``
- polygon, line, cuboid: ``vertices`` [{x, y}, ...] (a polygon ≥ 3, a line ≥ 2, a cuboid ≥ 4)
- point: ``x``, ``y``
- ellipse: ``x``, ``y`` (the centre), ``rx``, ``ry`` (the radii), ``rotation`` optional
"""

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    label_names,
    register,
    require_keys,
    require_list_of_objects,
    require_numbers,
    require_object,
)

MIN_VERTICES = {"polygon": 3, "line": 2, "cuboid": 4}


def check_geometry(annotation: dict, kind: str) -> None:
    """The coordinates of one ``kind`` annotation (``GEOMETRY_KINDS``)."""
    where = f"{kind} annotation"
    if kind == "box":
        require_numbers(annotation, ("left", "top", "width", "height"), where)
    elif kind == "point":
        require_numbers(annotation, ("x", "y"), where)
    elif kind == "ellipse":
        require_numbers(annotation, ("x", "y", "rx", "ry"), where)
    else:
        vertices = require_list_of_objects(annotation.get("vertices"), "vertices")
        if len(vertices) < MIN_VERTICES[kind]:
            raise invalid_response(f"{where}: at least {MIN_VERTICES[kind]} vertices.")
        for vertex in vertices:
            require_numbers(vertex, ("x", "y"), f"{where} vertex")


def sample_geometry(kind: str, label: str) -> dict:
    """A small annotation of ``kind`` in the image's top left corner (test mode)."""
    shapes = {
        "box": {"left": 0, "top": 0, "width": 10, "height": 10},
        "point": {"x": 5, "y": 5},
        "ellipse": {"x": 5, "y": 5, "rx": 5, "ry": 5, "rotation": 0},
        "line": {"vertices": [{"x": 0, "y": 0}, {"x": 10, "y": 10}]},
        "polygon": {"vertices": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 0, "y": 10}]},
        "cuboid": {"vertices": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 10}, {"x": 0, "y": 10}]},
    }
    return {"label": label, **shapes[kind]}


def check_label(annotation: dict, names: list[str], *, required: bool) -> None:
    label = annotation.get("label")
    if label is None and not required:
        return
    if names and label not in names:
        raise invalid_response(f"Annotation label must be one of {names}.")


def check_annotations_by_geometry(annotations, geometries: dict, *, coordinates: bool) -> list[dict]:
    """``annotations`` of ``geometries`` {kind: {objects_to_annotate, ...}}: each has a ``type``
    of the params' geometries, a label of that geometry (when given) and, with ``coordinates``,
    or whenever it gives any, the coordinates of its type."""
    allowed = sorted(geometries)
    for annotation in require_list_of_objects(annotations, "annotations"):
        kind = annotation.get("type")
        if not isinstance(kind, str) or kind not in geometries:
            raise invalid_response(f"Annotation type must be one of {allowed}.")
        check_label(annotation, label_names(geometries[kind].get("objects_to_annotate")), required=False)
        if coordinates or set(annotation) - {"type", "label", "uuid", "attributes", "frame"}:
            check_geometry(annotation, kind)
    return annotations


@register
class ImageAnnotation(TaskType):
    """Response ``{"annotations": [{"type", "label", ...coordinates}]}``. An annotation may
    give only its type and label; coordinates it gives are checked."""

    name = "imageannotation"

    def validate_response(self, *, params, response):
        annotations = require_object(response).get("annotations")
        check_annotations_by_geometry(annotations, params["geometries"], coordinates=False)
        return {"annotations": annotations}

    def synthetic_response(self, *, params):
        kind, spec = next(iter(params["geometries"].items()))
        names = label_names(spec["objects_to_annotate"])
        return {"annotations": [{"type": kind, **sample_geometry(kind, names[0])}]}

    def attachment_urls(self, params):
        return [params["attachment"]]


class SingleGeometry(TaskType):
    """A legacy type of one geometry: params ``attachment``, ``objects_to_annotate``,
    ``with_labels``; response ``{"annotations": [{"label", ...coordinates}]}``, the label
    required when ``with_labels`` is true."""

    geometry: str

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations"}, required={"annotations"})
        names = label_names(params["objects_to_annotate"])
        for annotation in require_list_of_objects(response["annotations"], "annotations"):
            check_label(annotation, names, required=bool(params.get("with_labels")))
            check_geometry(annotation, self.geometry)
        return {"annotations": response["annotations"]}

    def synthetic_response(self, *, params):
        annotation = sample_geometry(self.geometry, label_names(params["objects_to_annotate"])[0])
        if self.geometry == "box":
            annotation["width"] = max(annotation["width"], params.get("min_width", 0))
            annotation["height"] = max(annotation["height"], params.get("min_height", 0))
        return {"annotations": [annotation]}

    def attachment_urls(self, params):
        return [params["attachment"]]


@register
class Annotation(SingleGeometry):
    """Boxes (Scale's original ``annotation`` type); a box must be at least ``min_width`` by
    ``min_height`` pixels."""

    name = "annotation"
    geometry = "box"

    def validate_response(self, *, params, response):
        validated = super().validate_response(params=params, response=response)
        for box in validated["annotations"]:
            if box["width"] < params.get("min_width", 0) or box["height"] < params.get("min_height", 0):
                raise invalid_response(
                    f"Boxes must be at least {params.get('min_width', 0)} × {params.get('min_height', 0)}."
                )
        return validated


@register
class PolygonAnnotation(SingleGeometry):
    name = "polygonannotation"
    geometry = "polygon"


@register
class LineAnnotation(SingleGeometry):
    name = "lineannotation"
    geometry = "line"


@register
class PointAnnotation(SingleGeometry):
    name = "pointannotation"
    geometry = "point"


@register
class CuboidAnnotation(SingleGeometry):
    name = "cuboidannotation"
    geometry = "cuboid"


@register
class SegmentAnnotation(TaskType):
    """Params: ``attachment``, ``labels`` (names or {choice}), ``allow_unlabeled``. Response, as
    Scale gives it, links to the masks: ``{"annotations": {"combined": {"image",
    "indexedImage"}, "labeled": {label: [url, ...]}, "unlabeled": url | null}, "labelMapping":
    {label: {"color", "index"}}}``; the labels must be of the params. The synthetic response
    of test mode names the task's own attachment as every mask (no image is drawn)."""

    name = "segmentannotation"

    def validate_response(self, *, params, response):
        require_keys(
            require_object(response), allowed={"annotations", "labelMapping"}, required={"annotations"}
        )
        annotations = response["annotations"]
        if not isinstance(annotations, dict) or not isinstance(annotations.get("labeled", {}), dict):
            raise invalid_response("`annotations` must be an object with a `labeled` object.")
        names = label_names(params["labels"])
        unknown = set(annotations.get("labeled", {})) - set(names)
        mapping = response.get("labelMapping", {})
        if not isinstance(mapping, dict):
            raise invalid_response("`labelMapping` must be an object.")
        unknown |= set(mapping) - set(names)
        if unknown:
            raise invalid_response(f"Unknown labels {sorted(unknown)}; the task's labels are {names}.")
        return response

    def synthetic_response(self, *, params):
        mask = params["attachment"]
        names = label_names(params["labels"])
        return {
            "annotations": {
                "combined": {"image": mask, "indexedImage": mask},
                "labeled": {name: [] for name in names},
                "unlabeled": None,
            },
            "labelMapping": {name: {"color": "#000000", "index": i + 1} for i, name in enumerate(names)},
        }

    def attachment_urls(self, params):
        return [params["attachment"]]
