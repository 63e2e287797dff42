"""The structures of Scale's image and video reference, checked at creation: label
descriptions (``objects_to_annotate``, ``labels``), ``geometries`` and the options of each
geometry, ``annotation_attributes`` of every kind, ``layers``, ``context_attachments``.

What each check follows, from Scale's pages (docs/scale-compatibility.md lists them):

- ``LabelDescription``: ``choice`` (required), ``subchoices`` (strings or label descriptions),
  ``instance_label``, ``display``; nothing else.
- geometries ``box`` (``min_height``, ``min_width``, ``can_rotate``, ``integer_pixels``),
  ``polygon`` and ``line`` (``min_vertices``, ``max_vertices``), ``point``, ``ellipse``,
  ``cuboid`` (``min_height``, ``min_width``, ``camera_intrinsics`` {fx, fy, cx, cy,
  scalefactor, skew}, ``camera_rotation_quaternion`` {w, x, y, z}, ``camera_height``), each
  with its ``objects_to_annotate``; an option another geometry has is refused.
- an annotation attribute: ``type`` ``category`` (the default; ``choices``,
  ``allow_multiple``), ``number`` (``min``, ``max``, ``step``), ``angle``, ``text``,
  ``x_line``/``y_line`` (boxes and cuboids), ``linked`` (``allowed_labels``, ``required``);
  each with a ``description`` and optional ``conditions`` (an object). Keys
  Scale's per-kind pages add (global attributes, conditionality) are kept as given.
- ``layers``: ``boxes``, ``lines``, ``polygons``, ``cuboids`` (annotations in the format of
  the response: coordinates checked, other keys kept) or, for video, ``url``.
"""

from tasks_app.task_params import shapes

MAX_LABELS = 1_000


def label_description(value, path, depth=1):
    """A label: a string, or a ``LabelDescription`` object (nested by ``subchoices``)."""
    if isinstance(value, str):
        return shapes.string(max_length=1_000, blank=False)(value, path)
    shapes.too_deep(path, depth)
    return shapes.obj(
        {
            "choice": shapes.string(max_length=1_000, blank=False),
            "subchoices": shapes.list_of(
                lambda item, item_path: label_description(item, item_path, depth + 1),
                min_items=1,
                max_items=MAX_LABELS,
            ),
            "instance_label": shapes.boolean(),
            "display": shapes.string(max_length=1_000),
        },
        required=("choice",),
    )(value, path)


def labels(*, max_items: int = MAX_LABELS):
    return shapes.list_of(label_description, min_items=1, max_items=max_items)


SIZE_OPTIONS = {
    "min_height": shapes.number(minimum=0),
    "min_width": shapes.number(minimum=0),
}
VERTEX_OPTIONS = {
    "min_vertices": shapes.number(integer=True, minimum=1),
    "max_vertices": shapes.number(integer=True, minimum=1),
}
CAMERA_OPTIONS = {
    "camera_intrinsics": shapes.obj(
        {
            key: shapes.number()
            for key in ("fx", "fy", "cx", "cy", "scalefactor", "scale_factor", "skew")  # the page's example
        },
        required=("fx", "fy", "cx", "cy"),
    ),
    "camera_rotation_quaternion": shapes.obj(
        {key: shapes.number() for key in ("w", "x", "y", "z")}, required=("w", "x", "y", "z")
    ),
    "camera_height": shapes.number(),
}


def _vertex_range(spec, path):
    if spec.get("max_vertices", spec.get("min_vertices", 1)) < spec.get("min_vertices", 1):
        shapes.invalid(path, "max_vertices must be at least min_vertices.")
    return spec


GEOMETRY_OPTIONS = {
    "box": (SIZE_OPTIONS | {"can_rotate": shapes.boolean(), "integer_pixels": shapes.boolean()}, None),
    "polygon": (VERTEX_OPTIONS, _vertex_range),
    "line": (VERTEX_OPTIONS, _vertex_range),
    "point": ({}, None),
    "ellipse": ({}, None),
    "cuboid": (SIZE_OPTIONS | CAMERA_OPTIONS, None),
}


def geometry(kind: str):
    options, then = GEOMETRY_OPTIONS[kind]
    return shapes.obj(
        {"objects_to_annotate": labels(), **options}, required=("objects_to_annotate",), then=then
    )


def geometries(value, path):
    if not isinstance(value, dict) or not value:
        shapes.invalid(path, "Must be an object with at least one geometry.")
    unknown = sorted(set(value) - set(GEOMETRY_OPTIONS))
    if unknown:
        shapes.invalid(
            shapes.key_path(path, unknown[0]), f"Unknown geometry; supported: {', '.join(GEOMETRY_OPTIONS)}."
        )
    return {kind: geometry(kind)(spec, shapes.key_path(path, kind)) for kind, spec in value.items()}


# --- annotation attributes ---------------------------------------------------------

ATTRIBUTE_COMMON = {
    "type": shapes.one_of("category", "number", "angle", "text", "x_line", "y_line", "linked"),
    "description": shapes.string(),
    "conditions": shapes.obj({}, strict=False),
}
ATTRIBUTE_KINDS = {
    "category": (
        {"choices": labels(), "allow_multiple": shapes.boolean()},
        ("choices",),
    ),
    "number": ({key: shapes.number() for key in ("min", "max", "step")}, ()),
    "angle": ({}, ()),
    "text": ({}, ()),
    "x_line": ({}, ()),
    "y_line": ({}, ()),
    "linked": (
        {
            "allowed_labels": shapes.list_of(shapes.string(max_length=1_000, blank=False), min_items=1),
            "required": shapes.boolean(),
        },
        ("allowed_labels",),
    ),
}


def _number_range(attribute, path):
    if attribute.get("type") == "number" and attribute.get("max", float("inf")) < attribute.get("min", 0):
        shapes.invalid(path, "max must be at least min.")
    if attribute.get("type") == "number" and attribute.get("step", 1) <= 0:
        shapes.invalid(path, "step must be above 0.")
    return attribute


def attribute(value, path):
    kind = value.get("type", "category") if isinstance(value, dict) else None
    extra, required = ATTRIBUTE_KINDS.get(kind, ({}, ()))
    return shapes.obj(
        ATTRIBUTE_COMMON | extra,
        required=required,
        strict=False,
        then=_number_range,
    )(value, path)


annotation_attributes = shapes.mapping(attribute, min_items=1, max_items=200)


# --- layers, context attachments -------------------------------------------------------

_vertex = shapes.obj({"x": shapes.number(), "y": shapes.number()}, required=("x", "y"), strict=False)
_vertices = shapes.obj(
    {"vertices": shapes.list_of(_vertex, min_items=1)}, required=("vertices",), strict=False
)
_box = shapes.obj(
    {key: shapes.number() for key in ("left", "top", "width", "height")},
    required=("left", "top", "width", "height"),
    strict=False,
)

layers = shapes.obj(
    {
        "boxes": shapes.list_of(_box, max_items=10_000),
        "lines": shapes.list_of(_vertices, max_items=10_000),
        "polygons": shapes.list_of(_vertices, max_items=10_000),
        "cuboids": shapes.list_of(_vertices, max_items=10_000),
        "url": shapes.url(),
    }
)

context_attachments = shapes.list_of(
    shapes.obj({"attachment": shapes.url()}, required=("attachment",)), min_items=1, max_items=100
)
