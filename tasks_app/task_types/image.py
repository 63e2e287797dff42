"""Image task types: ``imageannotation`` (geometries), the legacy single-geometry types
(``annotation`` for boxes, ``polygonannotation``, ``lineannotation``, ``pointannotation``,
``cuboidannotation``) and ``segmentannotation``.

An annotation is an object with a ``label`` (a leaf of ``objects_to_annotate``), the
coordinates of its geometry and its ``attributes`` (``geometry``). ``imageannotation``'s
annotations also give their ``type`` and ``uuid``, as Scale's image response format does,
and its response may carry ``global_attributes``.
"""

from tasks_app.task_types.base import (
    TaskType,
    invalid_response,
    leaf_labels,
    register,
    require_keys,
    require_list_of_objects,
    require_object,
)
from tasks_app.task_types.geometry import (
    attribute_choices,
    check_annotations_by_geometry,
    check_attributes,
    check_geometry,
    check_label,
    sample_annotation,
)


def at_least(annotation: dict, spec: dict) -> dict:
    """A sample box grown to the minimum size the params ask for."""
    if "width" in annotation:
        annotation["width"] = max(annotation["width"], spec.get("min_width", 0))
        annotation["height"] = max(annotation["height"], spec.get("min_height", 0))
    return annotation


@register
class ImageAnnotation(TaskType):
    """Response ``{"annotations": [{"uuid", "type", "label", "attributes", ...coordinates}],
    "global_attributes"?}``. An annotation may give only its type and label; coordinates it
    gives are checked."""

    name = "imageannotation"

    def validate_response(self, *, params, response):
        require_keys(
            require_object(response), allowed={"annotations", "global_attributes"}, required={"annotations"}
        )
        check_annotations_by_geometry(response["annotations"], params, coordinates=False)
        if not isinstance(response.get("global_attributes", {}), dict):
            raise invalid_response("`global_attributes` must be an object.")
        return response

    def synthetic_response(self, *, params):
        kind, spec = next(iter(params["geometries"].items()))
        label = leaf_labels(spec["objects_to_annotate"])[0]
        return {"annotations": [at_least(sample_annotation(kind, label, params, typed=True), spec)]}

    def attachment_urls(self, params):
        return [params["attachment"]]


class SingleGeometry(TaskType):
    """A legacy type of one geometry: params ``attachment``, ``objects_to_annotate``,
    ``with_labels``; response ``{"annotations": [{"label", ...coordinates}]}``, the label
    required when ``with_labels`` is true."""

    geometry: str

    def validate_response(self, *, params, response):
        require_keys(require_object(response), allowed={"annotations"}, required={"annotations"})
        names = set(leaf_labels(params["objects_to_annotate"]))
        choices = attribute_choices(params.get("annotation_attributes"))
        for annotation in require_list_of_objects(response["annotations"], "annotations"):
            check_label(annotation, names, required=bool(params.get("with_labels")))
            check_attributes(annotation, params.get("annotation_attributes"), choices)
            check_geometry(annotation, self.geometry)
        return {"annotations": response["annotations"]}

    def synthetic_response(self, *, params):
        label = leaf_labels(params["objects_to_annotate"])[0]
        return {
            "annotations": [at_least(sample_annotation(self.geometry, label, params, typed=False), params)]
        }

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


def instance_labels(labels: list) -> set[str]:
    """The leaves of ``labels`` segmented per instance (``instance_label``)."""
    found, stack = set(), list(labels or [])
    while stack:
        item = stack.pop()
        if isinstance(item, dict) and item.get("subchoices"):
            stack.extend(item["subchoices"])
        elif isinstance(item, dict) and item.get("instance_label"):
            found.add(item["choice"])
    return found


@register
class SegmentAnnotation(TaskType):
    """Params: ``attachment``, ``labels`` (names or label descriptions), ``allow_unlabeled``.
    Response, as Scale's callback format gives it, links to PNG masks: ``{"annotations":
    {"combined": {"image", "indexedImage", "extendedIndexedImage"}, "labeled": {label: url},
    "unlabeled": url | null}, "labelMapping": {label: {"color", "index"}}}``, a list of
    masks and of mappings for a label segmented per instance; the labels are leaves of the
    params. The synthetic response of test mode names the task's own attachment as every
    mask (no image is drawn)."""

    name = "segmentannotation"

    def validate_response(self, *, params, response):
        require_keys(
            require_object(response), allowed={"annotations", "labelMapping"}, required={"annotations"}
        )
        annotations = response["annotations"]
        if not isinstance(annotations, dict) or not isinstance(annotations.get("labeled", {}), dict):
            raise invalid_response("`annotations` must be an object with a `labeled` object.")
        names = leaf_labels(params["labels"])
        mapping = response.get("labelMapping", {})
        if not isinstance(mapping, dict):
            raise invalid_response("`labelMapping` must be an object.")
        unknown = (set(annotations.get("labeled", {})) | set(mapping)) - set(names)
        if unknown:
            raise invalid_response(f"Unknown labels {sorted(unknown)}; the task's labels are {names}.")
        for label, mask in annotations.get("labeled", {}).items():
            if not (
                isinstance(mask, str) or (isinstance(mask, list) and all(isinstance(m, str) for m in mask))
            ):
                raise invalid_response(
                    f"`annotations.labeled.{label}` must be a mask URL, or a list of them."
                )
        return response

    def synthetic_response(self, *, params):
        mask = params["attachment"]
        names = leaf_labels(params["labels"])
        per_instance = instance_labels(params["labels"])
        return {
            "annotations": {
                "combined": {"image": mask, "indexedImage": mask, "extendedIndexedImage": mask},
                "labeled": {name: [mask] if name in per_instance else mask for name in names},
                "unlabeled": mask if params.get("allow_unlabeled") else None,
            },
            "labelMapping": {
                name: [{"color": "#000000", "index": i + 1}]
                if name in per_instance
                else {"color": "#000000", "index": i + 1}
                for i, name in enumerate(names)
            },
        }

    def attachment_urls(self, params):
        return [params["attachment"]]
