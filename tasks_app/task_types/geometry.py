"""Annotations of images, as Scale's image reference gives them in responses: the
coordinates of each geometry, the label, the ``attributes`` and the ``uuid``.

In pixels:

- box: ``left``, ``top``, ``width``, ``height`` (a rotated box, ``can_rotate``, adds
  ``rotation`` and ``vertices``)
- polygon, line: ``vertices`` [{x, y}, ...] (a polygon ≥ 3, a line ≥ 2)
- point: ``x``, ``y``
- ellipse: ``vertices``, the four extremal points of the ellipse
- cuboid: ``vertices``, each {x, y} and a ``description`` (``face-topleft``,
  ``face-bottomleft``, ``face-topright``, ``face-bottomright``, ``side-topcorner``,
  ``side-bottomcorner``; at least four), and, for ``imageannotation``, ``edges``

An annotation's ``attributes`` has a key per annotation attribute of the params (a linked
attribute only when used; an X/Y offset attribute only on boxes and cuboids): a choice of a
category attribute (a list of them with ``allow_multiple``), a number, an angle, a text, an
offset, or the ``uuid`` of the linked annotation.
"""

import uuid

from tasks_app.task_types.base import (
    invalid_response,
    is_number,
    leaf_labels,
    require_list_of_objects,
    require_numbers,
)

MIN_VERTICES = {"polygon": 3, "line": 2, "cuboid": 4, "ellipse": 4}
CUBOID_VERTICES = (
    "face-topleft",
    "face-bottomleft",
    "face-topright",
    "face-bottomright",
    "side-topcorner",
    "side-bottomcorner",
)
OFFSET_ATTRIBUTES = ("x_line", "y_line")


def check_geometry(annotation: dict, kind: str) -> None:
    """The coordinates of one ``kind`` annotation (``GEOMETRY_KINDS``)."""
    where = f"{kind} annotation"
    if kind == "box":
        require_numbers(annotation, ("left", "top", "width", "height"), where)
    elif kind == "point":
        require_numbers(annotation, ("x", "y"), where)
    else:
        vertices = require_list_of_objects(annotation.get("vertices"), "vertices")
        if len(vertices) < MIN_VERTICES[kind] or (kind == "ellipse" and len(vertices) != 4):
            raise invalid_response(f"{where}: at least {MIN_VERTICES[kind]} vertices.")
        for vertex in vertices:
            require_numbers(vertex, ("x", "y"), f"{where} vertex")


def sample_geometry(kind: str) -> dict:
    """The coordinates of a small annotation in the image's top left corner (test mode)."""
    square = [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 10}, {"x": 0, "y": 10}]
    return {
        "box": {"left": 0, "top": 0, "width": 10, "height": 10},
        "point": {"x": 5, "y": 5},
        "ellipse": {"vertices": [{"x": 5, "y": 0}, {"x": 10, "y": 5}, {"x": 5, "y": 10}, {"x": 0, "y": 5}]},
        "line": {"vertices": [{"x": 0, "y": 0}, {"x": 10, "y": 10}]},
        "polygon": {"vertices": square[:3]},
        "cuboid": {
            "vertices": [
                {"x": x, "y": y, "description": description}
                for (x, y), description in zip(
                    [(0, 0), (0, 10), (10, 0), (10, 10), (15, -5), (15, 5)], CUBOID_VERTICES, strict=True
                )
            ]
        },
    }[kind]


def check_label(annotation: dict, names: set[str], *, required: bool) -> None:
    label = annotation.get("label")
    if label is None and not required:
        return
    if names and (not isinstance(label, str) or label not in names):
        raise invalid_response(f"Annotation label must be one of {sorted(names)}.")


def attribute_applies(attribute: dict, kind: str | None) -> bool:
    return attribute.get("type") not in OFFSET_ATTRIBUTES or kind in ("box", "cuboid", None)


def sample_attribute(attribute: dict):
    kind = attribute.get("type", "category")
    if kind == "category":
        first = leaf_labels(attribute["choices"])[0]
        return [first] if attribute.get("allow_multiple") else first
    if kind == "number":
        return attribute.get("min", 0)
    return "" if kind == "text" else 0  # an angle, an offset


def sample_attributes(attributes: dict, kind: str | None) -> dict:
    """A value for each attribute that applies to a ``kind`` annotation (test mode); a linked
    attribute is left out, as Scale leaves out one that is not used."""
    return {
        key: sample_attribute(attribute)
        for key, attribute in (attributes or {}).items()
        if attribute_applies(attribute, kind) and attribute.get("type") != "linked"
    }


def attribute_choices(attributes: dict) -> dict[str, set]:
    """The leaf choices of each category attribute, to check many annotations against."""
    return {
        key: set(leaf_labels(attribute["choices"]))
        for key, attribute in (attributes or {}).items()
        if attribute.get("type", "category") == "category"
    }


def check_attributes(annotation: dict, attributes: dict, choices: dict[str, set] | None = None) -> None:
    """``annotation.attributes``: keys of the params' annotation attributes, values of their kind
    (``choices``: ``attribute_choices(attributes)``, computed once for many annotations)."""
    values = annotation.get("attributes", {})
    if not isinstance(values, dict):
        raise invalid_response("Annotation `attributes` must be an object.")
    unknown = sorted(set(values) - set(attributes or {}))
    if unknown:
        raise invalid_response(f"Unknown annotation attributes {unknown}.")
    choices = attribute_choices(attributes) if choices is None else choices
    for key, value in values.items():
        attribute = attributes[key]
        kind = attribute.get("type", "category")
        if kind == "category":
            chosen = value if isinstance(value, list) and attribute.get("allow_multiple") else [value]
            if not all(isinstance(item, str) and item in choices[key] for item in chosen):
                raise invalid_response(f"Attribute `{key}` must be one of {sorted(choices[key])}.")
        elif kind in ("number", "angle", *OFFSET_ATTRIBUTES) and not is_number(value):
            raise invalid_response(f"Attribute `{key}` must be a number.")
        elif kind in ("text", "linked") and not isinstance(value, str):
            raise invalid_response(f"Attribute `{key}` must be a string.")


def sample_annotation(kind: str, label: str, params: dict, *, typed: bool) -> dict:
    """One annotation of ``kind`` (with its ``type`` and ``uuid`` when ``typed``, as
    ``imageannotation`` gives them)."""
    annotation = {"label": label, **sample_geometry(kind)}
    if typed:
        annotation = {"uuid": str(uuid.uuid4()), "type": kind, **annotation}
        if kind == "cuboid":
            annotation["edges"] = []
    attributes = sample_attributes(params.get("annotation_attributes"), kind)
    if attributes:
        annotation["attributes"] = attributes
    return annotation


def check_annotations_by_geometry(annotations, params: dict, *, coordinates: bool) -> list[dict]:
    """``annotations`` of ``params["geometries"]`` {kind: {objects_to_annotate, ...}}: each has
    a ``type`` of the params' geometries, a label of that geometry (when given), attributes of
    the params' annotation attributes and, with ``coordinates``, or whenever it gives any, the
    coordinates of its type."""
    geometries = params["geometries"]
    labels = {kind: set(leaf_labels(spec.get("objects_to_annotate"))) for kind, spec in geometries.items()}
    choices = attribute_choices(params.get("annotation_attributes"))
    for annotation in require_list_of_objects(annotations, "annotations"):
        kind = annotation.get("type")
        if not isinstance(kind, str) or kind not in geometries:
            raise invalid_response(f"Annotation type must be one of {sorted(geometries)}.")
        check_label(annotation, labels[kind], required=False)
        check_attributes(annotation, params.get("annotation_attributes"), choices)
        if coordinates or set(annotation) - {"type", "label", "uuid", "attributes", "frame", "edges"}:
            check_geometry(annotation, kind)
    return annotations
