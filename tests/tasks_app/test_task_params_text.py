"""categorization, documenttranscription and namedentityrecognition as Scale documents them
(issue 27): every documented parameter kept, each structure checked (a 400 naming the
parameter), and a synthetic response of the documented shape."""

import pytest

from tasks_app.models import Task
from tasks_app.task_types import get_task_type

pytestmark = pytest.mark.django_db

NER = {
    "text": "Alex Wang spoke at Transform.",
    "labels": [
        {"name": "person", "display_name": "Person", "description": "A human being"},
        {
            "name": "event",
            "display_name": "Event",
            "children": [{"name": "conference", "display_name": "Conference"}],
        },
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
}

DOCUMENT = {
    "attachments": ["https://example.com/invoice-p1.png", "https://example.com/invoice-p2.png"],
    "lang": "en-US",
    "geometry": "polygon",
    "features": [
        {"type": "text", "label": "total", "flags": ["money"]},
        {"type": "block", "label": "address"},
        {"type": "group", "title": "Line items"},
    ],
}

CATEGORIZATION = {
    "attachment_type": "image",
    "attachment": "https://example.com/shirt.jpg",
    "categories": ["red", "blue"],
    "category_ids": {"r": "red", "b": "blue"},
    "allow_multiple": True,
}

TAXONOMIES = {
    "attachment_type": "video",
    "attachment": "https://example.com/clip.mp4",
    "taxonomies": {
        "genre": {
            "type": "category",
            "description": "What genre does it belong to?",
            "choices": ["Action", {"choice": "Adventure", "subchoices": ["Anime", "Superhero"]}],
            "allow_multiple": True,
        }
    },
}


@pytest.mark.parametrize(
    "kind, body",
    [
        ("namedentityrecognition", NER),
        ("documenttranscription", DOCUMENT),
        ("categorization", CATEGORIZATION),
        ("categorization", TAXONOMIES),
    ],
)
def test_every_documented_parameter_is_kept_as_given(customer, kind, body):
    answer = customer.post(f"/v1/task/{kind}", body, format="json")

    assert answer.status_code == 200, answer.json()
    params = Task.objects.get().params
    assert {key: params[key] for key in body} == body


@pytest.mark.parametrize(
    "kind, body, named",
    [
        ("namedentityrecognition", {**NER, "labels": [{"display_name": "Person"}]}, "labels"),
        ("namedentityrecognition", {**NER, "labels": [{"name": "person", "colour": "red"}]}, "labels"),
        ("namedentityrecognition", {**NER, "relationships": [{"name": "speaker_at"}]}, "relationships"),
        ("namedentityrecognition", {**NER, "relationships": [{"source_label": "robot"}]}, "relationships"),
        ("namedentityrecognition", {**NER, "relationships": "speaker_at"}, "relationships"),
        ("documenttranscription", {**DOCUMENT, "geometry": "circle"}, "geometry"),
        ("documenttranscription", {**DOCUMENT, "features": [{"type": "table", "label": "x"}]}, "features"),
        ("documenttranscription", {**DOCUMENT, "features": [{"type": "text"}]}, "features"),
        ("documenttranscription", {**DOCUMENT, "features": [{"type": "group", "label": "x"}]}, "features"),
        (
            "documenttranscription",
            {**DOCUMENT, "features": [{"type": "text", "label": "x", "flags": ["shiny"]}]},
            "features",
        ),
        ("documenttranscription", {**DOCUMENT, "attachments": ["not a url"]}, "attachments"),
        ("documenttranscription", {**DOCUMENT, "lang": 7}, "lang"),
        ("categorization", {**CATEGORIZATION, "category_ids": {"g": "green"}}, "category_ids"),
        ("categorization", {**TAXONOMIES, "taxonomies": {"genre": {"type": "category"}}}, "taxonomies"),
        ("categorization", {**TAXONOMIES, "taxonomies": []}, "taxonomies"),
    ],
)
def test_a_malformed_parameter_is_a_400_naming_it(customer, kind, body, named):
    answer = customer.post(f"/v1/task/{kind}", body, format="json")

    assert answer.status_code == 400
    assert named in answer.json()["details"], answer.json()
    assert not Task.objects.exists()


def test_a_document_needs_an_attachment_or_attachments(customer):
    answer = customer.post(
        "/v1/task/documenttranscription", {"features": DOCUMENT["features"]}, format="json"
    )

    assert answer.status_code == 400
    assert "attachment" in answer.json()["error"]


def test_the_synthetic_ner_response_has_scales_fields():
    kind = get_task_type("namedentityrecognition")

    response = kind.synthetic_response(params=NER)

    (annotation,) = response["annotations"]
    assert set(annotation) >= {"id", "start", "end", "text", "label"}
    assert NER["text"][annotation["start"] : annotation["end"]] == annotation["text"]
    assert response["relationships"] == []
    assert kind.validate_response(params=NER, response=response) == response


def test_the_synthetic_document_response_has_scales_fields():
    kind = get_task_type("documenttranscription")

    response = kind.synthetic_response(params=DOCUMENT)

    (annotation,) = response["annotations"]
    assert set(annotation) >= {"uuid", "page", "label", "text", "location", "refs"}
    assert annotation["location"]["type"] == "polygon" and len(annotation["location"]["vertices"]) >= 3
    assert kind.validate_response(params=DOCUMENT, response=response) == response


def test_the_synthetic_taxonomies_response_answers_each_taxonomy():
    kind = get_task_type("categorization")

    response = kind.synthetic_response(params=TAXONOMIES)

    assert response == {"taxonomies": {"genre": ["Action"]}}
    assert kind.validate_response(params=TAXONOMIES, response=response) == response


def test_ner_labels_keep_their_display_name_and_children(customer):
    labels = [{"name": "person", "display_name": "Person", "children": [{"name": "ceo"}]}]

    answer = customer.post(
        "/v1/task/namedentityrecognition", {"text": "Alex", "labels": labels}, format="json"
    )

    assert answer.status_code == 200, answer.json()
    assert Task.objects.get().params["labels"] == labels
