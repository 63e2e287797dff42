"""The task type registry (SPEC §4): params and response validation of each type, through the API."""

import pytest

from tasks_app.models import Task
from tasks_app.task_types import get_task_type
from tests.factories import TaskFactory
from tests.tasks_app.task_samples import SAMPLES

pytestmark = pytest.mark.django_db

TEXTCOLLECTION = {
    "instruction": "Read the label.",
    "attachments": [{"type": "text", "content": "Best before 2025-01-01"}],
    "fields": [
        {"field_id": "date", "title": "Best before", "type": "datetime", "required": True},
        {"field_id": "brand", "title": "Brand", "type": "text"},
    ],
}
IMAGEANNOTATION = {
    "instruction": "Box every car.",
    "attachment": "https://example.com/street.jpg",
    "geometries": {"box": {"objects_to_annotate": ["car"]}, "point": {"objects_to_annotate": ["wheel"]}},
}


@pytest.mark.parametrize(
    "kind, body", [("textcollection", TEXTCOLLECTION), ("imageannotation", IMAGEANNOTATION)]
)
def test_create_each_type(customer, kind, body):
    answer = customer.post(f"/v1/task/{kind}", body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["type"] == kind
    stored = Task.objects.get(id=answer.json()["task_id"]).params
    assert stored.get("attachment", stored.get("attachments")) == body.get(
        "attachment", body.get("attachments")
    )


@pytest.mark.parametrize(
    "kind, body, field",
    [
        ("textcollection", {**TEXTCOLLECTION, "fields": []}, "fields"),
        (
            "textcollection",
            {**TEXTCOLLECTION, "fields": [{"field_id": "a", "title": "A", "type": "text"}] * 2},
            "fields",
        ),
        ("textcollection", {**TEXTCOLLECTION, "fields": [{"title": "no id"}]}, "fields"),
        ("imageannotation", {**IMAGEANNOTATION, "attachment": "not a url"}, "attachment"),
        ("imageannotation", {**IMAGEANNOTATION, "geometries": {}}, "geometries"),
        (
            "imageannotation",
            {**IMAGEANNOTATION, "geometries": {"blob": {"objects_to_annotate": ["x"]}}},
            "geometries",
        ),
        (
            "imageannotation",
            {**IMAGEANNOTATION, "geometries": {"box": {"objects_to_annotate": []}}},
            "geometries",
        ),
        (
            "categorization",
            {"attachment_type": "image", "attachment": "not a url", "categories": ["a", "b"]},
            "non_field_errors",
        ),
    ],
)
def test_invalid_params_are_a_400_naming_the_field(customer, kind, body, field):
    answer = customer.post(f"/v1/task/{kind}", body, format="json")

    assert answer.status_code == 400
    assert field in answer.json()["details"]
    assert not Task.objects.exists()


CATEGORIZATION_PARAMS = {"attachment_type": "text", "attachment": "x", "categories": ["red", "blue", "green"]}


@pytest.mark.parametrize(
    "kind, params, response, valid",
    [
        ("categorization", CATEGORIZATION_PARAMS, {"category": "red"}, True),
        ("categorization", CATEGORIZATION_PARAMS, {"category": "pink"}, False),
        ("categorization", CATEGORIZATION_PARAMS, {"category": ["red", "blue"]}, False),
        (
            "categorization",
            {**CATEGORIZATION_PARAMS, "allow_multiple": True},
            {"category": ["red", "blue"]},
            True,
        ),
        (
            "categorization",
            {**CATEGORIZATION_PARAMS, "allow_multiple": True},
            {"category": ["red", "red"]},
            False,
        ),
        ("categorization", CATEGORIZATION_PARAMS, {"category": "red", "extra": 1}, False),
        ("textcollection", TEXTCOLLECTION, {"annotations": {"date": "2025-01-01", "brand": "Acme"}}, True),
        ("textcollection", TEXTCOLLECTION, {"annotations": {"date": "2025-01-01"}}, True),
        ("textcollection", TEXTCOLLECTION, {"annotations": {"brand": "Acme"}}, False),
        ("textcollection", TEXTCOLLECTION, {"annotations": {"date": "2025-01-01", "colour": "red"}}, False),
        ("textcollection", TEXTCOLLECTION, {"annotations": ["2025-01-01"]}, False),
        ("textcollection", TEXTCOLLECTION, {"fields": {"date": "2025-01-01"}}, False),
        ("imageannotation", IMAGEANNOTATION, {"annotations": [{"type": "box", "label": "car"}]}, True),
        ("imageannotation", IMAGEANNOTATION, {"annotations": [{"type": "polygon"}]}, False),
        ("imageannotation", IMAGEANNOTATION, {"annotations": "none"}, False),
        ("imageannotation", IMAGEANNOTATION, "just text", False),
    ],
)
def test_response_validation_of_each_type(operator, kind, params, response, valid):
    # given a pending task of the type
    task = TaskFactory(type=kind, params={k: v for k, v in params.items() if k != "instruction"})

    # when an operator completes it with the response
    answer = operator.post(f"/v1/ops/task/{task.id}/complete", {"response": response}, format="json")

    # then a valid response completes it; an invalid one is a 400 that changes nothing
    if valid:
        assert answer.status_code == 200, answer.json()
        assert Task.objects.get(id=task.id).status == "completed"
    else:
        assert answer.status_code == 400
        assert "response" in answer.json()["details"]
        assert Task.objects.get(id=task.id).status == "pending"


@pytest.mark.parametrize(
    "kind, params, urls",
    [
        ("categorization", CATEGORIZATION_PARAMS, []),
        (
            "categorization",
            {**CATEGORIZATION_PARAMS, "attachment_type": "website", "attachment": "https://a.example/"},
            ["https://a.example/"],
        ),
        ("textcollection", TEXTCOLLECTION, []),
        ("imageannotation", IMAGEANNOTATION, [IMAGEANNOTATION["attachment"]]),
    ],
)
def test_attachment_urls_to_download(kind, params, urls):
    assert get_task_type(kind).attachment_urls(params) == urls


HOSTILE_RESPONSES = [
    {"annotations": [{"label": ["x"], "type": ["box"], "start": 0, "end": 1, "frame": 0}]},
    {"annotations": [{"label": {"x": 1}, "vertices": [{"x": [], "y": {}}]}]},
    {"annotations": {"labeled": {"road": {"x": 1}}, "combined": []}, "labelMapping": []},
    {"annotations": {"date": ["2025"], "brand": {"x": 1}}},
    {"category": [["red"]]},
    {"category": {"red": 1}},
    {"fields": {"difference": []}, "choices": {"better": ["first"]}},
    {"taxonomies": {"genre": [["Action"]]}},
    {"annotations": [{"label": "person", "start": 0, "end": 5}], "relationships": [{"source_ref": ["a"]}]},
]


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_response_of_any_shape_is_a_400_or_a_completion_never_a_500(operator, kind):
    task = TaskFactory(type=kind, params=SAMPLES[kind].params)

    for response in HOSTILE_RESPONSES:
        answer = operator.post(f"/v1/ops/task/{task.id}/complete", {"response": response}, format="json")

        assert answer.status_code in (200, 400), (response, answer.content[:300])
        Task.objects.filter(id=task.id).update(status="pending", response=None, completed_at=None)
