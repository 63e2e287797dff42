"""Documented example values of every parameter of docs/scale-compatibility.md, per type.

``MINIMAL[kind]``: the required parameters only. ``EXAMPLES[kind]``: a value for each
parameter of the type's table (taken from Scale's pages where they give one), ``COMMON``:
for each parameter of the "Every type" table. ``fulls(kind)``: creates with every
parameter set. ``malformed(kind, param)``: a value of each parameter that is wrong (of the
wrong type, out of range, or whose documented structure is broken).
"""

from tasks_app.task_types import get_task_type

IMAGE = "https://example.com/street.jpg"
LABELS = [
    "traffic_sign",
    {"choice": "vehicle", "subchoices": ["car", {"choice": "truck_suv", "display": "truck or SUV"}]},
]
ATTRIBUTES = {
    "parked": {"type": "category", "description": "Is the car parked?", "choices": ["Yes", "No"]},
    "occlusion": {"type": "number", "description": "How occluded?", "min": 0, "max": 100, "step": 10},
    "heading": {"type": "angle", "description": "Which way does it face?"},
    "plate": {"type": "text", "description": "What does the plate say?"},
    "center": {"type": "x_line", "description": "Where is its center?"},
    "towed_by": {
        "type": "linked",
        "description": "Which truck?",
        "allowed_labels": ["car"],
        "required": False,
    },
}
GEOMETRIES = {
    "box": {
        "objects_to_annotate": LABELS,
        "min_height": 5,
        "min_width": 5,
        "can_rotate": False,
        "integer_pixels": True,
    },
    "polygon": {"objects_to_annotate": ["puddle"], "min_vertices": 4, "max_vertices": 15},
    "line": {"objects_to_annotate": ["solid line", "dashed line"], "min_vertices": 2},
    "point": {"objects_to_annotate": ["headlight", "brakelight"]},
    "ellipse": {"objects_to_annotate": ["wheel"]},
    "cuboid": {
        "objects_to_annotate": ["car"],
        "min_height": 10,
        "min_width": 10,
        "camera_intrinsics": {
            "fx": 986.778503418,
            "fy": 984.4254150391,
            "cx": 961.078918457,
            "cy": 586.9694824219,
        },
        "camera_rotation_quaternion": {
            "w": 0.0197866653,
            "x": 0.0181939654,
            "y": 0.6981190587,
            "z": -0.715476937,
        },
        "camera_height": -0.2993970777,
    },
}
CONTEXT = [{"attachment": "https://example.com/context.jpg"}]

MINIMAL = {
    "categorization": {"attachment": "tomato", "categories": ["red", "blue"]},
    "comparison": {
        "attachments": ["https://example.com/a.jpg", "https://example.com/b.jpg"],
        "fields": {"difference": "What differs?"},
    },
    "transcription": {"attachment": "https://example.com/receipt.jpg", "fields": {"total": "The total"}},
    "documenttranscription": {
        "attachment": "https://example.com/form.pdf",
        "features": [{"type": "text", "label": "name"}],
    },
    "datacollection": {"attachment": "https://example.com/", "fields": {"phone": "Phone number"}},
    "textcollection": {"fields": [{"type": "text", "field_id": "brand", "title": "Brand"}]},
    "namedentityrecognition": {"text": "Alex Wang spoke at Transform.", "labels": [{"name": "person"}]},
    "annotation": {"attachment": IMAGE, "objects_to_annotate": ["car"]},
    "imageannotation": {"attachment": IMAGE, "geometries": {"box": {"objects_to_annotate": ["car"]}}},
    "polygonannotation": {"attachment": IMAGE, "objects_to_annotate": ["car"]},
    "lineannotation": {"attachment": IMAGE, "objects_to_annotate": ["lane"]},
    "pointannotation": {"attachment": IMAGE, "objects_to_annotate": ["headlight"]},
    "cuboidannotation": {"attachment": IMAGE, "objects_to_annotate": ["car"]},
    "segmentannotation": {"attachment": IMAGE, "labels": ["road", "sky"]},
    "videoannotation": {
        "attachments": ["https://example.com/f0.jpg", "https://example.com/f1.jpg"],
        "geometries": {"box": {"objects_to_annotate": ["car"]}},
    },
    "videoplaybackannotation": {
        "attachment": "https://example.com/clip.mp4",
        "geometries": {"box": {"objects_to_annotate": ["car"]}},
    },
}

SINGLE_GEOMETRY = {
    "attachment": IMAGE,
    "attachment_type": "image",
    "objects_to_annotate": LABELS,
    "with_labels": True,
    "examples": [{"correct": True, "image": "https://example.com/good.jpg", "explanation": "Tight box."}],
    "annotation_attributes": {key: ATTRIBUTES[key] for key in ("parked", "occlusion")},
}

EXAMPLES = {
    "categorization": {
        "attachment_type": "image",
        "attachment": "https://example.com/shirt.jpg",
        "categories": ["red", "blue"],
        "category_ids": {"r": "red", "b": "blue"},
        "allow_multiple": True,
        "taxonomies": {
            "genre": {
                "type": "category",
                "description": "What genre does it belong to?",
                "choices": ["Action", {"choice": "Adventure", "subchoices": ["Anime", "Superhero"]}],
                "allow_multiple": True,
            }
        },
    },
    "comparison": {
        "attachment_type": "image",
        "attachments": ["https://example.com/a.jpg", "https://example.com/b.jpg"],
        "fields": {"difference": "What differs?"},
        "choices": {"better": ["first", "second"]},
    },
    "transcription": {
        "attachment_type": "website",
        "attachment": "https://example.com/",
        "fields": {"title": "Title of Webpage", "top_result": "Title of the top result"},
        "repeatable_fields": {"username": "Username of submitter", "comment_count": "Number of comments"},
    },
    "documenttranscription": {
        "attachment": "https://example.com/invoice.pdf",
        "attachments": ["https://example.com/invoice-p1.png", "https://example.com/invoice-p2.png"],
        "attachment_type": "pdf",
        "lang": "en-US",
        "geometry": "polygon",
        "features": [
            {"type": "text", "label": "total", "flags": ["money"]},
            {"type": "block", "label": "address", "flags": ["line"]},
            {"type": "group", "title": "Line items"},
        ],
    },
    "datacollection": {
        "attachment_type": "website",
        "attachment": "https://example.com/",
        "fields": {"phone": "Phone number", "address": "Street address"},
    },
    "textcollection": {
        "attachments": [
            {"type": "website", "content": "https://www.scale.com/"},
            {"type": "text", "content": "**Hi**"},
        ],
        "attachment": "A jar of jam",
        "attachment_type": "text",
        "fields": [
            {
                "type": "category",
                "field_id": "category_field",
                "title": "Please select the most relevant option",
                "description": "field description",
                "choices": [{"label": "Correct Website", "value": "correct_website"}],
            },
            {
                "type": "field_set",
                "field_id": "name",
                "title": "Name",
                "fields": [
                    {"type": "text", "field_id": "first_name", "title": "First Name"},
                    {"type": "text", "field_id": "last_name", "title": "Last Name"},
                ],
            },
        ],
        "title": "taskTitle",
        "description": "taskDescription",
        "responses_required": 1,
    },
    "namedentityrecognition": {
        "text": "Alex Wang spoke at Transform.",
        "labels": [
            {"name": "person", "display_name": "Person"},
            {"name": "event", "children": [{"name": "conference", "display_name": "Conference"}]},
        ],
        "relationships": [
            {
                "name": "speaker_at",
                "display_name": "is a speaker at",
                "is_directed": True,
                "source_label": "person",
                "target_label": "conference",
            }
        ],
    },
    "annotation": {**SINGLE_GEOMETRY, "min_width": 30, "min_height": 30},
    "imageannotation": {
        "attachment": IMAGE,
        "attachment_type": "image",
        "context_attachments": CONTEXT,
        "geometries": GEOMETRIES,
        "annotation_attributes": ATTRIBUTES,
        "links": {"towing": {"from": ["truck_suv"], "to": ["car"]}},
        "padding": 10,
        "paddingX": 20,
        "paddingY": 5,
        "can_add_base_annotations": True,
        "can_edit_base_annotations": True,
        "can_edit_base_annotation_labels": False,
        "can_delete_base_annotations": False,
    },
    "polygonannotation": {**SINGLE_GEOMETRY, "min_vertices": 4, "max_vertices": 15},
    "lineannotation": {**SINGLE_GEOMETRY, "splines": True, "min_vertices": 2, "max_vertices": 20},
    "pointannotation": SINGLE_GEOMETRY,
    "cuboidannotation": {
        **SINGLE_GEOMETRY,
        **{key: GEOMETRIES["cuboid"][key] for key in GEOMETRIES["cuboid"] if key != "objects_to_annotate"},
        "annotation_attributes": {"center": ATTRIBUTES["center"]},
    },
    "segmentannotation": {
        "attachment": IMAGE,
        "attachment_type": "image",
        "labels": [
            "road",
            {"choice": "vehicle", "subchoices": [{"choice": "car", "instance_label": True}, "bus"]},
        ],
        "allow_unlabeled": True,
        "annotation_attributes": {"parked": ATTRIBUTES["parked"]},
        "context_attachments": CONTEXT,
    },
    "videoannotation": {
        "attachments": ["https://example.com/f0.jpg", "https://example.com/f1.jpg"],
        "attachment": "https://example.com/clip.mp4",
        "attachment_type": "image",
        "geometries": {"box": GEOMETRIES["box"], "point": GEOMETRIES["point"]},
        "events_to_annotate": ["Environment", "Action", "Turning"],
        "frame_rate": 5,
        "annotation_attributes": {"parked": ATTRIBUTES["parked"]},
    },
    "videoplaybackannotation": {
        "attachment": "https://example.com/clip.mp4",
        "attachment_type": "video",
        "geometries": {"box": GEOMETRIES["box"]},
        "events_to_annotate": ["Environment", "Action", "Turning"],
        "frame_rate": 2,
        "annotation_attributes": {"parked": ATTRIBUTES["parked"]},
    },
}

# Parameters that are alternatives: a full create of each form (None leaves a key out).
FORMS = {
    "videoannotation": [
        {"attachment": None},  # the frames
        {"attachments": None, "attachment_type": "video"},  # a video file
    ]
}
# What a parameter needs beside the required ones (a URL for a remote attachment type...).
ALONE = {
    ("videoannotation", "attachment"): FORMS["videoannotation"][1],
    ("categorization", "attachment_type"): {"attachment": "https://example.com/shirt.jpg"},
    ("namedentityrecognition", "relationships"): {"labels": EXAMPLES["namedentityrecognition"]["labels"]},
}

COMMON = {
    "instruction": "**Instructions:** Please annotate all the things",
    "metadata": {"newKey": "New Value"},
    "tags": ["tag1"],
    "priority": 30,
    "clear_unique_id_on_error": True,
    "urgency": "day",
    "force": True,
    "layers": {
        "boxes": [{"left": 1, "top": 1, "width": 2, "height": 2}],
        "polygons": [{"vertices": [{"x": 0, "y": 0}, {"x": 5, "y": 0}, {"x": 0, "y": 5}]}],
        "lines": [{"vertices": [{"x": 0, "y": 0}, {"x": 5, "y": 5}]}],
        "cuboids": [{"vertices": [{"x": i, "y": i} for i in range(8)]}],
    },
}
# Set per test: a project and a batch of the type, a receiver's URL, a fresh unique_id.
SET_BY_THE_TEST = ("project", "batch", "callback_url", "unique_id")


def prelabels(kind: str, params: dict) -> dict:
    """A prelabel for a task of ``params``: a response of the schema of the type's responses."""
    return get_task_type(kind).synthetic_response(params=params)


def example(kind: str, param: str):
    if param in ("hypothesis", "base_annotations"):
        return prelabels(kind, MINIMAL[kind])
    return EXAMPLES[kind][param] if param in EXAMPLES[kind] else COMMON[param]


def without_none(body: dict) -> dict:
    return {key: value for key, value in body.items() if value is not None}


def fulls(kind: str) -> list[dict]:
    """Creates of ``kind`` that set, between them, every parameter of its tables but those
    ``SET_BY_THE_TEST`` (one create, or one per form where parameters are alternatives)."""
    base = {**MINIMAL[kind], **EXAMPLES[kind], **COMMON}
    bodies = [without_none({**base, **form}) for form in FORMS.get(kind, [{}])]
    return [
        {**body, "hypothesis": prelabels(kind, body), "base_annotations": prelabels(kind, body)}
        for body in bodies
    ]


def alone(kind: str, param: str) -> dict:
    """A create of ``kind`` with its required parameters and ``param``."""
    return without_none({**MINIMAL[kind], **ALONE.get((kind, param), {}), param: example(kind, param)})


MALFORMED_COMMON = {
    "project": "no such project",
    "batch": "no such batch",
    "instruction": 5,
    "callback_url": "ftp://example.com/callback",
    "metadata": "notes",
    "unique_id": 5,
    "tags": "tag1",
    "priority": "soon",
    "clear_unique_id_on_error": "yes",
    "urgency": "whenever",
    "force": "yes",
    "hypothesis": ["not", "an", "object"],
    "base_annotations": "annotations",
    "layers": {"boxes": [{"left": 1, "top": 1, "width": "wide", "height": 2}]},
}
# A wrong value of a parameter of this name, whatever the type.
MALFORMED_BY_NAME = {
    "attachment": 5,
    "attachments": "one",
    "attachment_type": "hologram",
    "categories": ["red"],
    "allow_multiple": "yes",
    "allow_unlabeled": "yes",
    "with_labels": "yes",
    "splines": "yes",
    "min_width": -1,
    "min_height": -1,
    "min_vertices": 0,
    "max_vertices": 0,
    "camera_height": "high",
    "frame_rate": -1,
    "padding": -1,
    "paddingX": -1,
    "paddingY": -1,
    "can_add_base_annotations": "yes",
    "can_edit_base_annotations": "yes",
    "can_edit_base_annotation_labels": "yes",
    "can_delete_base_annotations": "yes",
    "text": 5,
    "lang": 7,
    "geometry": "circle",
    "title": 7,
    "description": 7,
    "responses_required": 0,
}
MALFORMED_ATTRIBUTES = {"parked": {"type": "category", "description": "Parked?"}}  # no choices
MALFORMED_LABELS = [{"choice": "car", "subchoices": "bus"}]
MALFORMED = {
    "categorization": {
        "category_ids": {"g": "green"},
        "taxonomies": {"genre": {"type": "category", "choices": "Action"}},
    },
    "comparison": {"fields": {"difference": 7}, "choices": {"better": "first"}},
    "transcription": {"fields": ["total"], "repeatable_fields": {"item": None}},
    "documenttranscription": {
        "attachments": ["invoice-p1.png"],
        "features": [{"type": "group", "label": "Line items"}],
    },
    "datacollection": {"fields": {}},
    "textcollection": {
        "attachments": [{"type": "website", "content": "www.scale.com"}],
        "fields": [{"type": "category", "field_id": "c", "title": "C", "choices": [{"label": "A"}]}],
    },
    "namedentityrecognition": {
        "labels": [{"name": "person", "children": "ceo"}],
        "relationships": [{"name": "speaker_at", "is_directed": True}],
    },
    "annotation": {
        "objects_to_annotate": MALFORMED_LABELS,
        "examples": {"correct": True},
        "annotation_attributes": MALFORMED_ATTRIBUTES,
    },
    "imageannotation": {
        "context_attachments": [{"attachment": IMAGE}],  # the task's own attachment
        "geometries": {"box": {"objects_to_annotate": ["car"], "min_vertices": 3}},
        "annotation_attributes": MALFORMED_ATTRIBUTES,
        "links": ["towing"],
    },
    "polygonannotation": {
        "objects_to_annotate": MALFORMED_LABELS,
        "examples": {"correct": True},
        "annotation_attributes": MALFORMED_ATTRIBUTES,
    },
    "lineannotation": {
        "objects_to_annotate": MALFORMED_LABELS,
        "examples": {"correct": True},
        "annotation_attributes": MALFORMED_ATTRIBUTES,
    },
    "pointannotation": {
        "objects_to_annotate": MALFORMED_LABELS,
        "examples": {"correct": True},
        "annotation_attributes": MALFORMED_ATTRIBUTES,
    },
    "cuboidannotation": {
        "objects_to_annotate": MALFORMED_LABELS,
        "examples": {"correct": True},
        "camera_intrinsics": {"fx": 1, "fy": 1},
        "camera_rotation_quaternion": {"w": 1, "x": 0, "y": 0, "z": "up"},
        "annotation_attributes": MALFORMED_ATTRIBUTES,
    },
    "segmentannotation": {
        "labels": [f"label {i}" for i in range(51)],
        "annotation_attributes": MALFORMED_ATTRIBUTES,
        "context_attachments": [{"attachment": "context.jpg"}],
    },
    "videoannotation": {
        "geometries": {"polygon": {"objects_to_annotate": ["car"], "min_vertices": 5, "max_vertices": 4}},
        "events_to_annotate": [{"label": "Turning"}],
        "annotation_attributes": MALFORMED_ATTRIBUTES,
    },
    "videoplaybackannotation": {
        "geometries": {"hexagon": {"objects_to_annotate": ["car"]}},
        "events_to_annotate": "Turning",
        "annotation_attributes": MALFORMED_ATTRIBUTES,
    },
}


def malformed(kind: str, param: str):
    """A malformed value of ``param`` for ``kind`` (``None`` when there is none)."""
    for table in (MALFORMED[kind], MALFORMED_COMMON, MALFORMED_BY_NAME):
        if param in table:
            return table[param]
    return None
