"""docs/scale-compatibility.md is true (issue 27).

The document's tables are read: every parameter marked accepted is created, alone with the
type's required parameters, with a documented example value and comes back in the task;
every one is sent malformed and is a 400 whose ``details`` names it (through the official
client too for the structures: ``ScaleInvalidRequest`` whose message names it); the parameters the service takes are exactly the accepted ones; every type is created
with all its parameters at once through the official client against a live server (with a
live key: all kept; with a test key: a synthetic response valid for the type); and the
client's routes are served, or a 402, as the routes table says.
"""

import re
from pathlib import Path

import pytest
from django.urls import resolve
from scaleapi import ScaleClient
from scaleapi.exceptions import ScaleInvalidRequest, ScaleNotEnabled
from scaleapi.tasks import TaskType

from tasks_app.models import Task
from tasks_app.serializers import COMMON_FIELDS
from tasks_app.task_params import TYPE_PARAMS
from tasks_app.task_types import REGISTRY, get_task_type
from tasks_app.views.not_offered import NotOfferedApi
from tests.tasks_app import scale_examples as examples

DOC = Path(__file__).resolve().parents[2] / "docs" / "scale-compatibility.md"
TASK_FIELDS = COMMON_FIELDS - {"params"}  # kept on the task itself, not in its params


def read_tables() -> tuple[dict, dict, list]:
    """``(every_type, by_type, routes)``: the rows {param: {accepted, structure}} of the
    "Every type" table and of each type's, and the rows of the routes table."""
    every_type, by_type, routes = {}, {}, []
    section = None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            section = heading.strip("`") if heading.startswith("`") else heading
            continue
        if not line.startswith("|") or line.startswith(("|---", "| parameter ", "| client method ")):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if section == "Routes of the official client":
            methods, route, here = cells
            routes.append(
                {"methods": re.findall(r"`(\w+)`", methods), "route": route.strip("`"), "here": here}
            )
            continue
        param, accepted, check = cells[0].strip("`"), cells[1], cells[2]
        row = {"accepted": accepted == "yes", "structure": check.startswith("structure:")}
        (every_type if section == "Every type" else by_type.setdefault(section, {}))[param] = row
    return every_type, by_type, routes


EVERY_TYPE, BY_TYPE, ROUTES = read_tables()


def rows(kind: str) -> dict:
    return {**EVERY_TYPE, **BY_TYPE[kind]}


ACCEPTED = [(kind, param) for kind in sorted(BY_TYPE) for param, row in rows(kind).items() if row["accepted"]]


def pair_ids(pairs):
    return [f"{kind}-{param}" for kind, param in pairs]


STRUCTURES = [(kind, param) for kind, param in ACCEPTED if rows(kind)[param]["structure"]]
REFUSED = [
    (kind, param) for kind in sorted(BY_TYPE) for param, row in BY_TYPE[kind].items() if not row["accepted"]
]


def test_the_document_has_a_table_for_every_type():
    assert set(BY_TYPE) == set(REGISTRY)
    assert len(ACCEPTED) > 150 and len(STRUCTURES) > 60 and len(ROUTES) > 30


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_the_service_takes_exactly_the_accepted_parameters(kind):
    accepted = {param for param, row in rows(kind).items() if row["accepted"]}

    assert accepted == set(TYPE_PARAMS[kind]().fields) | TASK_FIELDS


@pytest.mark.parametrize("kind, param", ACCEPTED, ids=pair_ids(ACCEPTED))
def test_each_parameter_has_a_malformed_example(kind, param):
    assert examples.malformed(kind, param) is not None


@pytest.fixture
def setup(customer, receiver):
    """Creates the project and the batch the examples name; gives the values set per test."""

    def make(kind: str) -> dict:
        assert (
            customer.post("/v1/projects", {"type": kind, "name": f"{kind}-p"}, format="json").status_code
            == 200
        )
        batch = {"project": f"{kind}-p", "name": f"{kind}-b"}
        assert customer.post("/v1/batches", batch, format="json").status_code == 200
        return {
            "project": f"{kind}-p",
            "batch": f"{kind}-b",
            "callback_url": receiver.url,
            "unique_id": f"{kind}-1",
        }

    return make


def kept(task: dict, body: dict) -> dict:
    """What the task kept of each parameter of ``body``."""
    return {key: task[key] if key in TASK_FIELDS else task["params"].get(key) for key in body}


@pytest.mark.django_db
@pytest.mark.parametrize("kind, param", ACCEPTED, ids=pair_ids(ACCEPTED))
def test_an_accepted_parameter_is_kept(customer, setup, kind, param):
    if param in examples.SET_BY_THE_TEST:
        body = {**examples.MINIMAL[kind], param: setup(kind)[param]}
    else:
        body = examples.alone(kind, param)

    answer = customer.post(f"/v1/task/{kind}", body, format="json")

    assert answer.status_code == 200, answer.json()
    assert kept(answer.json(), {param: body[param]}) == {param: body[param]}


def malformed_body(kind: str, param: str) -> dict:
    body = {
        **examples.MINIMAL[kind],
        **examples.ALONE.get((kind, param), {}),
        param: examples.malformed(kind, param),
    }
    return examples.without_none(body)


@pytest.mark.django_db
@pytest.mark.parametrize("kind, param", ACCEPTED, ids=pair_ids(ACCEPTED))
def test_a_malformed_parameter_is_a_400_naming_it(customer, kind, param):
    answer = customer.post(f"/v1/task/{kind}", malformed_body(kind, param), format="json")

    assert answer.status_code == 400, answer.json()
    assert param in answer.json()["details"], answer.json()
    assert not Task.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind, param", REFUSED, ids=pair_ids(REFUSED))
def test_a_parameter_marked_not_accepted_is_a_400_naming_it(customer, kind, param):
    answer = customer.post(f"/v1/task/{kind}", {**examples.MINIMAL[kind], param: ["x"]}, format="json")

    assert answer.status_code == 400
    assert param in answer.json()["details"]


# --- through the official client, against a live server --------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_the_official_client_creates_each_type_with_every_parameter(scale, receiver, kind):
    scale.create_project(f"{kind}-p", TaskType(kind))
    scale.create_batch(f"{kind}-p", f"{kind}-b")
    bodies = examples.fulls(kind)
    covered = set().union(*bodies) | set(examples.SET_BY_THE_TEST)

    for i, body in enumerate(bodies):
        body = {
            **body,
            "project": f"{kind}-p",
            "batch": f"{kind}-b",
            "callback_url": receiver.url,
            "unique_id": f"{kind}-{i}",
        }
        task = scale.create_task(TaskType(kind), **body)

        assert task.status == "pending"
        assert kept(task.as_dict(), body) == body
        assert kept(scale.get_task(task.id).as_dict(), body) == body

    assert covered == {param for param, row in rows(kind).items() if row["accepted"]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind, param", STRUCTURES, ids=pair_ids(STRUCTURES))
def test_the_official_client_raises_scale_invalid_request_naming_a_malformed_structure(scale, kind, param):
    with pytest.raises(ScaleInvalidRequest, match=rf"^<Response \[400\]> {param}[:.\[]"):
        scale.create_task(TaskType(kind), **malformed_body(kind, param))

    assert not Task.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_a_test_key_answers_every_parameter_with_a_synthetic_response_of_the_type(scale_test, kind):
    for body in examples.fulls(kind):
        task = scale_test.create_task(TaskType(kind), **body)

        assert task.status == "completed"
        stored = Task.objects.get(id=task.id)
        assert (
            get_task_type(kind).validate_response(params=stored.params, response=task.response)
            == task.response
        )


# --- the routes of the official client ------------------------------------------------

CALLS = {
    "get_project_template": lambda scale: scale.get_project_template("p"),
    "create_evaluation_task": lambda scale: scale.create_evaluation_task(TaskType.ImageAnnotation),
    "create_training_task": lambda scale: scale.create_training_task(TaskType.ImageAnnotation),
    "list_studio_assignments": lambda scale: scale.list_studio_assignments(),
    "add_studio_assignments": lambda scale: scale.add_studio_assignments(["a@example.com"], ["p"]),
    "remove_studio_assignments": lambda scale: scale.remove_studio_assignments(["a@example.com"], ["p"]),
    "list_project_groups": lambda scale: scale.list_project_groups("p"),
    "create_project_group": lambda scale: scale.create_project_group("p", ["a@example.com"], "g"),
    "update_project_group": lambda scale: scale.update_project_group("p", "g", ["a@example.com"], []),
    "list_studio_batches": lambda scale: scale.list_studio_batches(),
    "assign_studio_batches": lambda scale: scale.assign_studio_batches("b", ["g"]),
    "set_studio_batches_priorities": lambda scale: scale.set_studio_batches_priorities(["b"]),
    "reset_studio_batches_priorities": lambda scale: scale.reset_studio_batches_priorities(),
}
NOT_OFFERED = [method for row in ROUTES if row["here"] == "402" for method in row["methods"]]
SERVED = [row for row in ROUTES if row["here"] == "served"]
SAMPLE_SEGMENTS = {"{type}": "categorization", "{id}": "0" * 24, "{name}": "p", "{group}": "g"}


def test_every_method_of_the_client_is_in_the_routes_table():
    methods = {
        name for name in dir(ScaleClient) if not name.startswith("_") and callable(getattr(ScaleClient, name))
    }

    assert methods == {method for row in ROUTES for method in row["methods"]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", NOT_OFFERED)
def test_a_route_marked_402_makes_the_client_raise_scale_not_enabled(scale, method):
    with pytest.raises(ScaleNotEnabled):
        CALLS[method](scale)


@pytest.mark.parametrize("row", SERVED, ids=lambda row: row["route"])
def test_a_route_marked_served_is_routed_to_a_view_that_serves_it(row):
    verb, path = row["route"].split(" ", 1)
    for segment, sample in SAMPLE_SEGMENTS.items():
        path = path.replace(segment, sample)

    view = resolve(path).func.view_class

    assert view is not NotOfferedApi
    assert hasattr(view, verb.lower())


HOSTILE = [
    None,
    0,
    -1,
    1e308,
    "x",
    "",
    [],
    {},
    [[]],
    [None],
    [{}],
    {"x": None},
    [1, "a"],
    {"annotations": [{}]},
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind, param", STRUCTURES, ids=pair_ids(STRUCTURES))
def test_a_structure_of_any_shape_is_a_400_or_a_task_never_a_500(customer_test_mode, kind, param):
    # a test key: an accepted value also goes through the synthetic response
    for value in HOSTILE:
        body = examples.without_none({**examples.MINIMAL[kind], **examples.ALONE.get((kind, param), {})})

        answer = customer_test_mode.post(f"/v1/task/{kind}", {**body, param: value}, format="json")

        assert answer.status_code in (200, 400), (value, answer.content[:300])
