"""One sample per task type of SPEC §4: documented params, a required param, a valid and an
invalid operator response. The tests of every type read this table."""

from dataclasses import dataclass

IMAGE = "https://example.com/street.jpg"


@dataclass(frozen=True)
class Sample:
    params: dict
    required: str  # a param the create refuses to do without
    valid: dict
    invalid: object


def _objects(**extra):
    return {"attachment": IMAGE, "attachment_type": "image", "objects_to_annotate": ["car", "bus"], **extra}


SAMPLES = {
    "categorization": Sample(
        {"attachment_type": "text", "attachment": "tomato", "categories": ["red", "blue"]},
        "categories",
        {"category": "red"},
        {"category": "pink"},
    ),
    "comparison": Sample(
        {
            "attachment_type": "image",
            "attachments": ["https://example.com/a.jpg", "https://example.com/b.jpg"],
            "fields": {"difference": "What differs?"},
            "choices": {"better": ["first", "second"]},
        },
        "attachments",
        {"fields": {"difference": "colour"}, "choices": {"better": "second"}},
        {"fields": {"difference": "colour"}, "choices": {"better": "third"}},
    ),
    "transcription": Sample(
        {
            "attachment_type": "image",
            "attachment": "https://example.com/receipt.jpg",
            "fields": {"total": "The total"},
            "repeatable_fields": {"item": "Each item"},
        },
        "fields",
        {"fields": {"total": "12.50"}, "repeatable_fields": [{"item": "bread"}]},
        {"fields": {"sum": "12.50"}},
    ),
    "documenttranscription": Sample(
        {
            "attachment": "https://example.com/form.pdf",
            "attachment_type": "pdf",
            "features": [{"type": "text", "label": "name"}, {"type": "text", "label": "date"}],
        },
        "features",
        {"annotations": [{"type": "text", "label": "name", "text": "Ada"}]},
        {"annotations": [{"type": "text", "label": "address"}]},
    ),
    "datacollection": Sample(
        {"attachment_type": "website", "attachment": "https://example.com/", "fields": {"phone": "Phone"}},
        "fields",
        {"fields": {"phone": "555-0100"}},
        {"fields": {"phone": 5550100}},
    ),
    "textcollection": Sample(
        {
            "attachments": [{"type": "text", "content": "Best before 2025-01-01"}],
            "fields": [{"field_id": "date", "title": "Best before", "type": "datetime", "required": True}],
        },
        "fields",
        {"annotations": {"date": "2025-01-01"}},
        {"annotations": {}},
    ),
    "namedentityrecognition": Sample(
        {"text": "Ada Lovelace met Babbage.", "labels": [{"name": "person", "description": "A person"}]},
        "text",
        {"annotations": [{"label": "person", "start": 0, "end": 12}]},
        {"annotations": [{"label": "person", "start": 0, "end": 99}]},
    ),
    "annotation": Sample(
        _objects(with_labels=True, min_width="30", min_height="30"),
        "objects_to_annotate",
        {"annotations": [{"label": "car", "left": 1, "top": 2, "width": 40, "height": 30}]},
        {"annotations": [{"label": "car", "left": 1, "top": 2, "width": 10, "height": 10}]},
    ),
    "imageannotation": Sample(
        {"attachment": IMAGE, "geometries": {"box": {"objects_to_annotate": ["car"], "min_width": "5"}}},
        "geometries",
        {"annotations": [{"type": "box", "label": "car", "left": 0, "top": 0, "width": 9, "height": 9}]},
        {"annotations": [{"type": "polygon", "label": "car"}]},
    ),
    "polygonannotation": Sample(
        _objects(with_labels=True, min_vertices="3"),
        "attachment",
        {
            "annotations": [
                {"label": "bus", "vertices": [{"x": 0, "y": 0}, {"x": 5, "y": 0}, {"x": 0, "y": 5}]}
            ]
        },
        {"annotations": [{"label": "bus", "vertices": [{"x": 0, "y": 0}]}]},
    ),
    "lineannotation": Sample(
        _objects(),
        "objects_to_annotate",
        {"annotations": [{"label": "car", "vertices": [{"x": 0, "y": 0}, {"x": 5, "y": 5}]}]},
        {"annotations": [{"label": "tram", "vertices": [{"x": 0, "y": 0}, {"x": 5, "y": 5}]}]},
    ),
    "pointannotation": Sample(
        _objects(),
        "attachment",
        {"annotations": [{"label": "car", "x": 3, "y": 4}]},
        {"annotations": [{"label": "car", "x": "3", "y": 4}]},
    ),
    "cuboidannotation": Sample(
        _objects(min_width=10),
        "objects_to_annotate",
        {"annotations": [{"label": "car", "vertices": [{"x": i, "y": i} for i in range(8)]}]},
        {"annotations": [{"label": "car"}]},
    ),
    "segmentannotation": Sample(
        {
            "attachment": IMAGE,
            "attachment_type": "image",
            "labels": ["road", "sky"],
            "allow_unlabeled": False,
        },
        "labels",
        {"annotations": {"combined": {"image": IMAGE}, "labeled": {"road": [IMAGE]}, "unlabeled": None}},
        {"annotations": {"labeled": {"sea": [IMAGE]}}},
    ),
    "videoannotation": Sample(
        {
            "attachment_type": "image",
            "attachments": ["https://example.com/f0.jpg", "https://example.com/f1.jpg"],
            "geometries": {"box": {"objects_to_annotate": ["car"]}},
            "frame_rate": "2",
        },
        "attachments",
        {"annotations": [{"frame": 1, "type": "box", "label": "car"}]},
        {"annotations": [{"frame": 2, "type": "box", "label": "car"}]},
    ),
    "videoplaybackannotation": Sample(
        {
            "attachment_type": "video",
            "attachment": "https://example.com/clip.mp4",
            "geometries": {"point": {"objects_to_annotate": ["ball"]}},
            "frame_rate": 30,
        },
        "geometries",
        {"annotations": [{"frame": 120, "type": "point", "label": "ball", "x": 3, "y": 4}]},
        {"annotations": [{"type": "point", "label": "ball"}]},
    ),
}
