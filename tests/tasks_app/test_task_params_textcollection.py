"""``textcollection`` as Scale documents it (issue 27): the ``attachments`` array, the
``fields`` of every kind, the other create parameters, and the response under ``annotations``."""

import pytest

from tasks_app.models import Task
from tasks_app.task_types import get_task_type

pytestmark = pytest.mark.django_db

# Scale's own example (scale.com/docs/api-reference/generative-ai, "Create Text Collection Task")
SCALE_EXAMPLE = {
    "instruction": "**Instructions:** Find the URL for the hiring page for the company with attached website.",
    "attachments": [{"type": "website", "content": "https://www.scale.com/"}],
    "responses_required": 1,
    "metadata": {"newKey": "New Value"},
    "priority": 30,
    "fields": [
        {
            "type": "category",
            "field_id": "category_field",
            "title": "Please select the most relevant option",
            "description": "field description",
            "choices": [{"label": "Correct Website", "value": "correct_website"}],
        }
    ],
    "title": "taskTitle",
    "description": "taskDescription",
    "tags": ["tag1"],
}

EVERY_FIELD_KIND = [
    {"type": "text", "field_id": "name", "title": "Name", "required": True, "hint": "As written"},
    {"type": "boolean", "field_id": "open", "title": "Open on Sundays?"},
    {"type": "number", "field_id": "price", "title": "Price", "max_responses_required": 3},
    {"type": "datetime", "field_id": "seen", "title": "Seen on"},
    {
        "type": "category",
        "field_id": "genre",
        "title": "Genres",
        "min_choices": 1,
        "max_choices": 2,
        "choices": [
            {"label": "Rap", "value": "rap", "subchoices": [{"label": "Nerdcore", "value": "nerdcore"}]},
            {"label": "Soul", "value": "soul", "hint": "R&B"},
        ],
    },
    {
        "type": "field_set",
        "field_id": "item",
        "title": "Item",
        "fields": [
            {"type": "text", "field_id": "item_name", "title": "Name"},
            {"type": "number", "field_id": "item_price", "title": "Price"},
        ],
    },
]


def test_create_with_scales_documented_example_stores_every_parameter(customer):
    answer = customer.post("/v1/task/textcollection", SCALE_EXAMPLE, format="json")

    assert answer.status_code == 200, answer.json()
    params = answer.json()["params"]
    for key in ("attachments", "fields", "title", "description", "responses_required", "priority"):
        assert params[key] == SCALE_EXAMPLE[key]


def test_create_with_every_kind_of_field_keeps_them_as_given(customer):
    answer = customer.post(
        "/v1/task/textcollection", {**SCALE_EXAMPLE, "fields": EVERY_FIELD_KIND}, format="json"
    )

    assert answer.status_code == 200, answer.json()
    assert Task.objects.get().params["fields"] == EVERY_FIELD_KIND


@pytest.mark.parametrize(
    "change, named",
    [
        ({"attachments": [{"type": "website"}]}, "attachments"),
        ({"attachments": [{"type": "hologram", "content": "x"}]}, "attachments"),
        ({"attachments": [{"type": "text", "content": "x", "forms": "name"}]}, "attachments"),
        ({"attachments": "https://www.scale.com/"}, "attachments"),
        ({"fields": [{"type": "date", "field_id": "d", "title": "D"}]}, "fields"),
        ({"fields": [{"type": "category", "field_id": "c", "title": "C", "choices": ["a", "b"]}]}, "fields"),
        ({"fields": [{"type": "category", "field_id": "c", "title": "C"}]}, "fields"),
        ({"fields": [{"type": "text", "field_id": "t", "title": ""}]}, "fields"),
        (
            {"fields": [{"type": "text", "field_id": "t", "title": "T", "max_responses_required": 101}]},
            "fields",
        ),
        (
            {
                "fields": [
                    {
                        "type": "text",
                        "field_id": "t",
                        "title": "T",
                        "min_responses_required": 3,
                        "max_responses_required": 2,
                    }
                ]
            },
            "fields",
        ),
        (
            {
                "fields": [
                    {"type": "field_set", "field_id": "s", "title": "S", "fields": [EVERY_FIELD_KIND[0]]},
                ]
            },
            "fields",
        ),
        (
            {
                "fields": [
                    EVERY_FIELD_KIND[0],
                    {"type": "field_set", "field_id": "s", "title": "S", "fields": [EVERY_FIELD_KIND[0]] * 2},
                ]
            },
            "fields",
        ),
        ({"responses_required": 0}, "responses_required"),
        ({"title": 7}, "title"),
    ],
)
def test_a_malformed_parameter_is_a_400_naming_it(customer, change, named):
    answer = customer.post("/v1/task/textcollection", {**SCALE_EXAMPLE, **change}, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()
    assert not Task.objects.exists()


def test_the_response_is_under_annotations_keyed_by_field_id():
    params = {"fields": EVERY_FIELD_KIND}
    kind = get_task_type("textcollection")

    response = kind.synthetic_response(params=params)

    assert set(response) == {"annotations"}
    annotations = response["annotations"]
    assert annotations["name"] == "" and annotations["open"] is False
    assert annotations["price"] == [0]  # max_responses_required > 1: a list
    assert annotations["genre"] == ["nerdcore"]  # the values chosen, leaves only
    assert annotations["item"] == {"item_name": "", "item_price": 0}
    assert kind.validate_response(params=params, response=response) == response
