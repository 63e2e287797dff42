"""The create parameters Scale documents for every type (issue 27): accepted with Scale's
meaning and kept in ``params``; a malformed one is a 400 naming it."""

import pytest

from tasks_app.models import Task
from tests.tasks_app.task_samples import SAMPLES

pytestmark = pytest.mark.django_db

IMAGE = SAMPLES["imageannotation"].params


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_clear_unique_id_on_error_is_kept_in_params(customer, kind):
    answer = customer.post(
        f"/v1/task/{kind}",
        {**SAMPLES[kind].params, "unique_id": f"{kind}-1", "clear_unique_id_on_error": True},
        format="json",
    )

    assert answer.status_code == 200, answer.json()
    assert answer.json()["params"]["clear_unique_id_on_error"] is True


def test_an_unknown_key_under_params_is_a_400_naming_it(customer):
    answer = customer.post("/v1/task/imageannotation", {"params": {**IMAGE, "colour": "red"}}, format="json")

    assert answer.status_code == 400
    assert "colour" in answer.json()["details"]
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "change, named",
    [
        ({"clear_unique_id_on_error": "yes"}, "clear_unique_id_on_error"),
        ({"urgency": "whenever"}, "urgency"),
        ({"layers": {"boxes": "all of them"}}, "layers"),
        ({"layers": {"boxes": [{"left": 1, "top": 1, "width": "wide", "height": 2}]}}, "layers"),
        ({"layers": {"circles": []}}, "layers"),
        ({"hypothesis": {"annotations": [{"type": "polygon", "label": "car"}]}}, "hypothesis"),
        ({"hypothesis": {"annotations": [{"type": "box", "label": "tram"}]}}, "hypothesis"),
        ({"hypothesis": ["box"]}, "hypothesis"),
        ({"base_annotations": {"annotations": "none"}}, "base_annotations"),
    ],
)
def test_a_malformed_common_parameter_is_a_400_naming_it(customer, change, named):
    answer = customer.post("/v1/task/imageannotation", {**IMAGE, **change}, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()
    assert not Task.objects.exists()


def nested_labels(depth: int) -> list:
    labels: list = ["car"]
    for level in range(depth):
        labels = [{"choice": f"level {level}", "subchoices": labels}]
    return labels


def nested_fields(depth: int) -> list:
    fields = [
        {"type": "text", "field_id": "a0", "title": "A"},
        {"type": "text", "field_id": "b0", "title": "B"},
    ]
    for level in range(1, depth + 1):
        fields = [
            {"type": "field_set", "field_id": f"a{level}", "title": "A", "fields": fields},
            {"type": "text", "field_id": f"b{level}", "title": "B"},
        ]
    return fields


@pytest.mark.parametrize(
    "kind, body, named",
    [
        (
            "annotation",
            {"attachment": IMAGE["attachment"], "objects_to_annotate": nested_labels(17)},
            "objects_to_annotate",
        ),
        (
            "annotation",
            {"attachment": IMAGE["attachment"], "objects_to_annotate": ["car"] * 1_001},
            "objects_to_annotate",
        ),
        ("textcollection", {"fields": nested_fields(17)}, "fields"),
        (
            "textcollection",
            {"fields": [{"type": "text", "field_id": f"f{i}", "title": "F"} for i in range(501)]},
            "fields",
        ),
    ],
)
def test_too_deep_or_too_long_a_structure_is_a_400(customer, kind, body, named):
    answer = customer.post(f"/v1/task/{kind}", body, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"]


def test_a_structure_at_the_limits_is_accepted(customer_test_mode):
    deep = customer_test_mode.post(
        "/v1/task/annotation",
        {"attachment": IMAGE["attachment"], "objects_to_annotate": nested_labels(15)},
        format="json",
    )
    fields = customer_test_mode.post("/v1/task/textcollection", {"fields": nested_fields(15)}, format="json")

    assert deep.status_code == 200, deep.json()
    assert deep.json()["response"]["annotations"][0]["label"] == "car"
    assert fields.status_code == 200, fields.json()


@pytest.mark.parametrize(
    "kind, body, named",
    [
        ("imageannotation", {**IMAGE, "attachment": "http://127.0.0.1/a.png"}, "attachment"),
        (
            "videoannotation",
            {
                "attachments": ["https://example.com/f0.png", "http://127.0.0.1/f1.png"],
                "geometries": IMAGE["geometries"],
            },
            "attachments",
        ),
        (
            "textcollection",
            {
                "attachments": [{"type": "image", "content": "http://127.0.0.1/a.png"}],
                "fields": [{"type": "text", "field_id": "t", "title": "T"}],
            },
            "attachments",
        ),
    ],
)
def test_an_attachment_at_a_forbidden_address_is_a_400_naming_its_parameter(
    customer, settings, kind, body, named
):
    settings.CALLBACK_ALLOWED_NETWORKS = []

    answer = customer.post(f"/v1/task/{kind}", body, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()
