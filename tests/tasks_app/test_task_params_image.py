"""The image and video types as Scale's image and video reference documents them (issue 27):
every parameter accepted and kept, each documented structure checked (a 400 naming the
parameter), and a synthetic response of the documented shape."""

import pytest

from tasks_app.models import Task
from tasks_app.task_types import get_task_type

pytestmark = pytest.mark.django_db

IMAGE = "https://example.com/street.jpg"

IMAGEANNOTATION = {
    "attachment": IMAGE,
    "context_attachments": [{"attachment": "https://example.com/side.jpg"}],
    "geometries": {
        "box": {
            "objects_to_annotate": ["traffic_sign", {"choice": "vehicle", "subchoices": ["car", "truck"]}],
            "min_height": 5,
            "min_width": 5,
            "can_rotate": False,
            "integer_pixels": True,
        },
        "polygon": {"objects_to_annotate": ["puddle"], "min_vertices": 4, "max_vertices": 15},
        "line": {"objects_to_annotate": ["lane"], "min_vertices": 2},
        "point": {"objects_to_annotate": ["headlight"]},
        "ellipse": {"objects_to_annotate": ["wheel"]},
        "cuboid": {
            "objects_to_annotate": ["car"],
            "min_height": 10,
            "min_width": 10,
            "camera_intrinsics": {
                "fx": 986.7,
                "fy": 984.4,
                "cx": 961.0,
                "cy": 586.9,
                "skew": 0,
                "scalefactor": 1,
            },
            "camera_rotation_quaternion": {"w": 0.02, "x": 0.02, "y": 0.7, "z": -0.7},
            "camera_height": -0.3,
        },
    },
    "annotation_attributes": {
        "parked": {"type": "category", "description": "Is the car parked?", "choices": ["Yes", "No"]},
        "occlusion": {"type": "number", "description": "How occluded?", "min": 0, "max": 100, "step": 10},
        "heading": {"type": "angle", "description": "Which way does it face?"},
        "plate": {"type": "text", "description": "What does the plate say?"},
        "center": {"type": "x_line", "description": "Where is its center?"},
        "trailer_of": {
            "type": "linked",
            "description": "Which truck pulls it?",
            "allowed_labels": ["truck"],
            "required": False,
        },
    },
    "links": {"is_towing": {"from": ["truck"], "to": ["car"]}},
    "padding": 10,
    "paddingX": 20,
    "paddingY": 5,
    "can_add_base_annotations": True,
    "can_edit_base_annotations": False,
    "can_edit_base_annotation_labels": False,
    "can_delete_base_annotations": False,
}


def test_imageannotation_keeps_every_documented_parameter(customer):
    answer = customer.post("/v1/task/imageannotation", IMAGEANNOTATION, format="json")

    assert answer.status_code == 200, answer.json()
    params = Task.objects.get().params
    assert {key: params[key] for key in IMAGEANNOTATION} == IMAGEANNOTATION


def geometry(kind, **options):
    return {"geometries": {kind: {"objects_to_annotate": ["car"], **options}}}


@pytest.mark.parametrize(
    "change, named",
    [
        ({"context_attachments": ["https://example.com/side.jpg"]}, "context_attachments"),
        ({"context_attachments": [{"attachment": "not a url"}]}, "context_attachments"),
        (geometry("polygon", min_vertices=5, max_vertices=4), "geometries"),
        (geometry("box", min_vertices=3), "geometries"),
        (geometry("box", can_rotate="yes"), "geometries"),
        (geometry("cuboid", camera_intrinsics={"fx": 1}), "geometries"),
        (geometry("cuboid", camera_rotation_quaternion=[1, 0, 0, 0]), "geometries"),
        ({"geometries": {"box": {"objects_to_annotate": [{"subchoices": ["car"]}]}}}, "geometries"),
        (
            {"geometries": {"box": {"objects_to_annotate": [{"choice": "car", "colour": "red"}]}}},
            "geometries",
        ),
        (
            {"annotation_attributes": {"parked": {"type": "category", "description": "Parked?"}}},
            "annotation_attributes",
        ),
        (
            {"annotation_attributes": {"parked": {"type": "boolean", "description": "?"}}},
            "annotation_attributes",
        ),
        ({"annotation_attributes": {"n": {"type": "number", "min": 5, "max": 1}}}, "annotation_attributes"),
        ({"annotation_attributes": {"n": {"type": "linked", "description": "?"}}}, "annotation_attributes"),
        ({"annotation_attributes": "parked"}, "annotation_attributes"),
        ({"padding": -1}, "padding"),
        ({"can_add_base_annotations": "yes"}, "can_add_base_annotations"),
        ({"links": ["is_towing"]}, "links"),
    ],
)
def test_a_malformed_imageannotation_parameter_is_a_400_naming_it(customer, change, named):
    answer = customer.post("/v1/task/imageannotation", {**IMAGEANNOTATION, **change}, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()
    assert not Task.objects.exists()


def test_the_synthetic_annotations_have_the_documented_fields():
    kind = get_task_type("imageannotation")
    params = {**IMAGEANNOTATION, "geometries": {"ellipse": {"objects_to_annotate": ["wheel"]}}}

    response = kind.synthetic_response(params=params)

    (annotation,) = response["annotations"]
    assert annotation["type"] == "ellipse" and annotation["label"] == "wheel"
    assert isinstance(annotation["uuid"], str) and annotation["uuid"]
    assert len(annotation["vertices"]) == 4  # Scale: the four extremal vertices of the ellipse
    # every attribute but the linked one, unused, and the X/Y offset one, for boxes and cuboids
    assert set(annotation["attributes"]) == set(IMAGEANNOTATION["annotation_attributes"]) - {
        "trailer_of",
        "center",
    }
    assert kind.validate_response(params=params, response=response) == response


def test_a_synthetic_cuboid_names_its_vertices():
    kind = get_task_type("imageannotation")
    params = {"attachment": IMAGE, "geometries": {"cuboid": {"objects_to_annotate": ["car"]}}}

    (cuboid,) = kind.synthetic_response(params=params)["annotations"]

    assert [vertex["description"] for vertex in cuboid["vertices"]] == [
        "face-topleft",
        "face-bottomleft",
        "face-topright",
        "face-bottomright",
        "side-topcorner",
        "side-bottomcorner",
    ]


def test_an_operator_ellipse_is_four_vertices(operator, customer):
    created = customer.post(
        "/v1/task/imageannotation",
        {"attachment": IMAGE, "geometries": {"ellipse": {"objects_to_annotate": ["wheel"]}}},
        format="json",
    ).json()
    vertices = [{"x": 123, "y": 92}, {"x": 173, "y": 113}, {"x": 123, "y": 134}, {"x": 73, "y": 113}]

    answer = operator.post(
        f"/v1/ops/task/{created['task_id']}/complete",
        {"response": {"annotations": [{"type": "ellipse", "label": "wheel", "vertices": vertices}]}},
        format="json",
    )

    assert answer.status_code == 200, answer.json()


LEGACY = {
    "attachment": IMAGE,
    "attachment_type": "image",
    "objects_to_annotate": ["car"],
    "with_labels": True,
}


@pytest.mark.parametrize(
    "kind, extra",
    [
        ("annotation", {"min_width": 5, "min_height": 5, "examples": [], "annotation_attributes": {}}),
        ("polygonannotation", {"min_vertices": 3, "max_vertices": 8}),
        ("lineannotation", {"splines": True, "min_vertices": 2}),
        ("pointannotation", {"examples": []}),
        (
            "cuboidannotation",
            {
                "min_width": 5,
                "min_height": 5,
                "camera_height": 1.5,
                "camera_rotation_quaternion": {"w": 1, "x": 0, "y": 0, "z": 0},
            },
        ),
    ],
)
def test_the_single_geometry_types_keep_their_documented_parameters(customer, kind, extra):
    extra = {key: value for key, value in extra.items() if value != {}}

    answer = customer.post(f"/v1/task/{kind}", {**LEGACY, **extra}, format="json")

    assert answer.status_code == 200, answer.json()
    assert {key: answer.json()["params"][key] for key in extra} == extra


@pytest.mark.parametrize(
    "kind, change, named",
    [
        ("polygonannotation", {"min_vertices": 9, "max_vertices": 3}, "non_field_errors"),
        ("cuboidannotation", {"camera_intrinsics": {"fx": "wide"}}, "camera_intrinsics"),
        ("annotation", {"objects_to_annotate": [{"choice": "car", "display": 3}]}, "objects_to_annotate"),
        ("lineannotation", {"splines": "yes"}, "splines"),
    ],
)
def test_a_malformed_single_geometry_parameter_is_a_400_naming_it(customer, kind, change, named):
    answer = customer.post(f"/v1/task/{kind}", {**LEGACY, **change}, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()


SEGMENT = {
    "attachment": IMAGE,
    "attachment_type": "image",
    "labels": [
        "road",
        {"choice": "vehicle", "subchoices": [{"choice": "car", "instance_label": True}, "bus"]},
    ],
    "allow_unlabeled": True,
    "annotation_attributes": {"parked": {"description": "Parked?", "choices": ["yes", "no"]}},
    "context_attachments": [{"attachment": "https://example.com/side.jpg"}],
}


def test_segmentannotation_keeps_every_documented_parameter(customer):
    answer = customer.post("/v1/task/segmentannotation", SEGMENT, format="json")

    assert answer.status_code == 200, answer.json()
    params = Task.objects.get().params
    assert {key: params[key] for key in SEGMENT} == SEGMENT


@pytest.mark.parametrize(
    "change, named",
    [
        ({"labels": [f"label {i}" for i in range(51)]}, "labels"),  # Scale: at most 50 labels
        ({"labels": [{"choice": "car", "instance_label": "yes"}]}, "labels"),
        ({"instance_labels": ["car"]}, "instance_labels"),  # not a parameter of Scale's
        ({"context_attachments": [{"url": IMAGE}]}, "context_attachments"),
    ],
)
def test_a_malformed_segmentannotation_parameter_is_a_400_naming_it(customer, change, named):
    answer = customer.post("/v1/task/segmentannotation", {**SEGMENT, **change}, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()


def test_the_synthetic_segmentation_has_scales_masks():
    kind = get_task_type("segmentannotation")

    response = kind.synthetic_response(params=SEGMENT)

    assert set(response["annotations"]["combined"]) == {"image", "indexedImage", "extendedIndexedImage"}
    assert set(response["annotations"]["labeled"]) == {"road", "car", "bus"}  # the leaves
    assert isinstance(response["annotations"]["labeled"]["road"], str)
    assert isinstance(response["labelMapping"]["car"], list)  # an instance label: one entry per instance
    assert kind.validate_response(params=SEGMENT, response=response) == response


VIDEO = {
    "attachment_type": "video",
    "attachment": "https://example.com/clip.mp4",
    "geometries": {"box": {"objects_to_annotate": ["car"]}},
    "events_to_annotate": ["Turning", "Braking"],
    "frame_rate": 5,
    "annotation_attributes": {"moving": {"description": "Moving?", "choices": ["yes", "no"]}},
    "layers": {"url": "https://example.com/video-layers.json"},
}


@pytest.mark.parametrize("kind", ["videoannotation", "videoplaybackannotation"])
def test_a_video_file_is_annotated_with_every_documented_parameter(customer, kind):
    answer = customer.post(f"/v1/task/{kind}", VIDEO, format="json")

    assert answer.status_code == 200, answer.json()
    params = Task.objects.get().params
    assert {key: params[key] for key in VIDEO} == VIDEO


@pytest.mark.parametrize(
    "kind, change, named",
    [
        ("videoannotation", {"events_to_annotate": [{"label": "Turning"}]}, "events_to_annotate"),
        ("videoplaybackannotation", {"events_to_annotate": "Turning"}, "events_to_annotate"),
        ("videoannotation", {"attachment_type": "image"}, "attachments"),  # frames needed
        (
            "videoannotation",
            {"attachments": ["https://example.com/f0.jpg"]},
            "attachments",
        ),  # not with a video
        ("videoplaybackannotation", {"frame_rate": 0}, "frame_rate"),
    ],
)
def test_a_malformed_video_parameter_is_a_400_naming_it(customer, kind, change, named):
    answer = customer.post(f"/v1/task/{kind}", {**VIDEO, **change}, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()


def test_the_synthetic_video_response_annotates_the_events():
    kind = get_task_type("videoplaybackannotation")

    response = kind.synthetic_response(params=VIDEO)

    assert response["events"] == [{"label": "Turning", "type": "point", "start": 0}]
    assert kind.validate_response(params=VIDEO, response=response) == response
