"""Every /v1 route × every wrong caller (SPEC §3, §4, §8): 401 without a valid key, 404 for
a task that is not the caller's (another account, the other mode) and for operator
routes called by a non-staff key; never a 403, never the task's data in the body, and
nothing changed in the database.

ROUTES is the one table of the API's routes: a new route is a new row (the
completeness test fails until it is there).
"""

from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tasks_app import services
from tasks_app.keys import Mode
from tasks_app.models import Task
from tasks_app.serializers import task_create_body
from tests.security.conftest import database_state

pytestmark = pytest.mark.django_db

MARKER = "private-marker-7f3a"  # in the target tasks' data: must never appear in an answer


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "{id}": the target task
    body: object = None
    state: str = "pending"  # the target task's state, one where the call would succeed
    operator: bool = False
    # the URL pattern this row covers (for the completeness test)
    pattern: str = field(default="", compare=False)

    @property
    def on_task(self) -> bool:
        return "{id}" in self.path

    def __str__(self):
        return f"{self.method} {self.path}"


ROUTES = [
    Route(
        "POST",
        "/v1/task/categorization",
        {"attachment": "a", "categories": ["x", "y"]},
        pattern="task/<str:segment>",
    ),
    Route("GET", "/v1/task/{id}", pattern="task/<str:segment>"),
    Route("GET", "/v1/tasks", pattern="tasks"),
    Route("POST", "/v1/task/{id}/cancel", pattern="task/<str:task_id>/cancel"),
    Route(
        "POST",
        "/v1/task/{id}/audit",
        {"accepted": False, "comments": "no"},
        state="completed",
        pattern="task/<str:task_id>/audit",
    ),
    Route("POST", "/v1/task/{id}/unique_id", {"unique_id": "new-id"}, pattern="task/<str:task_id>/unique_id"),
    Route("DELETE", "/v1/task/{id}/unique_id", pattern="task/<str:task_id>/unique_id"),
    Route("POST", "/v1/task/{id}/setMetadata", {"changed": True}, pattern="task/<str:task_id>/setMetadata"),
    Route("POST", "/v1/task/{id}/tags", ["new"], pattern="task/<str:task_id>/tags"),
    Route("PUT", "/v1/task/{id}/tags", ["new"], pattern="task/<str:task_id>/tags"),
    Route("DELETE", "/v1/task/{id}/tags", [MARKER], pattern="task/<str:task_id>/tags"),
    Route(
        "POST",
        "/v1/task/{id}/resend_callback",
        state="completed",
        pattern="task/<str:task_id>/resend_callback",
    ),
    Route("GET", "/v1/task/{id}/callbacks", pattern="task/<str:task_id>/callbacks"),
    Route("GET", "/v1/profile", pattern="profile"),
    Route("PATCH", "/v1/profile", {"default_callback_url": "https://example.com/hook"}, pattern="profile"),
    Route("POST", "/v1/profile/rotate_callback_auth_key", pattern="profile/rotate_callback_auth_key"),
    # Projects and batches (SPEC §12): by name; another account's is a 404 (tests/tasks_app/test_batches.py).
    Route("GET", "/v1/projects", pattern="projects"),
    Route("POST", "/v1/projects", {"type": "categorization", "name": "p"}, pattern="projects"),
    Route("GET", "/v1/projects/p", pattern="projects/<name:name>"),
    Route("POST", "/v1/projects/p/setParams", {"instruction": "x"}, pattern="projects/<name:name>/setParams"),
    Route("GET", "/v1/batches", pattern="batches"),
    Route("POST", "/v1/batches", {"project": "p", "name": "b"}, pattern="batches"),
    Route("GET", "/v1/batches/b", pattern="batches/<name:name>"),
    Route("GET", "/v1/batches/b/status", pattern="batches/<name:name>/status"),
    Route("POST", "/v1/batches/b/finalize", pattern="batches/<name:name>/finalize"),
    Route("POST", "/v1/batches/b/setMetadata", {"a": 1}, pattern="batches/<name:name>/setMetadata"),
    Route("POST", "/v1/batches/b/resend_callback", pattern="batches/<name:name>/resend_callback"),
    Route("GET", "/v1/batches/b/callbacks", pattern="batches/<name:name>/callbacks"),
    Route(
        "POST",
        "/v1/ops/task/{id}/complete",
        {"response": {"category": "x"}},
        operator=True,
        pattern="ops/task/<str:task_id>/complete",
    ),
    Route(
        "POST",
        "/v1/ops/task/{id}/error",
        {"error": "broken"},
        operator=True,
        pattern="ops/task/<str:task_id>/error",
    ),
    Route(
        "POST",
        "/v1/ops/task/{id}/fix",
        {"response": {"category": "y"}},
        state="completed",
        operator=True,
        pattern="ops/task/<str:task_id>/fix",
    ),
    Route(
        "POST",
        "/v1/ops/task/{id}/recall",
        state="completed",
        operator=True,
        pattern="ops/task/<str:task_id>/recall",
    ),
    Route("GET", "/v1/teams", pattern="teams"),
    Route(
        "POST",
        "/v1/teams/invite",
        {"emails": ["ada@example.com"], "team_role": "member"},
        pattern="teams/invite",
    ),
    Route(
        "POST",
        "/v1/teams/set_role",
        {"emails": ["ada@example.com"], "team_role": "admin"},
        pattern="teams/set_role",
    ),
    Route(
        "POST",
        "/v1/teams/set_alert_emails",
        {"emails": ["ada@example.com"], "alert_emails": True},
        pattern="teams/set_alert_emails",
    ),
    Route("POST", "/v1/portal/sessions", pattern="portal/sessions"),
    # Target health (SPEC §16); another account's or mode's target is a 404
    # (tests/callbacks_app/test_health_api.py).
    Route("GET", "/v1/callback_targets", pattern="callback_targets"),
    Route("POST", "/v1/callback_targets/1/pause", pattern="callback_targets/<int:target_id>/pause"),
    Route("POST", "/v1/callback_targets/1/resume", pattern="callback_targets/<int:target_id>/resume"),
    Route("POST", "/v1/files/upload", {}, pattern="files/upload"),
    Route("POST", "/v1/files/import", {"file_url": "https://example.com/a.png"}, pattern="files/import"),
    # The callback inbox (SPEC §15); another account's or mode's inbox is a 404
    # (tests/inbox_app/test_api.py).
    Route("GET", "/v1/inboxes", pattern="inboxes"),
    Route("POST", "/v1/inboxes", {"name": "i"}, pattern="inboxes"),
    Route("GET", "/v1/inboxes/inb_x", pattern="inboxes/<str:inbox_id>"),
    Route("PATCH", "/v1/inboxes/inb_x", {"fail_count": 1}, pattern="inboxes/<str:inbox_id>"),
    Route("DELETE", "/v1/inboxes/inb_x", pattern="inboxes/<str:inbox_id>"),
    Route("GET", "/v1/inboxes/inb_x/requests", pattern="inboxes/<str:inbox_id>/requests"),
    Route("DELETE", "/v1/inboxes/inb_x/requests", pattern="inboxes/<str:inbox_id>/requests"),
    # not offered (a 402 with a key)
    Route("GET", "/v1/studio/batches", pattern="studio/<path:rest>"),
    Route("POST", "/v1/evaluation_tasks/imageannotation", {}, pattern="evaluation_tasks/<path:rest>"),
    Route("POST", "/v1/training_tasks/imageannotation", {}, pattern="training_tasks/<path:rest>"),
]
TASK_ROUTES = [route for route in ROUTES if route.on_task]
OPERATOR_ROUTES = [route for route in ROUTES if route.operator]

# Public routes (no key by design) and routes outside this table's concern.
# files/content: a stored file's attachment_url, whose unguessable token is the secret
# (tests/tasks_app/test_files.py).
PUBLIC_PATTERNS = {"schema", "docs", "files/content/<str:token>/<str:name>"}


# --- the accounts, their tasks, the database -------------------------------------------------


def _task(owner, mode: str, state: str) -> Task:
    task = services.task_create(
        owner=owner,
        mode=mode,
        **task_create_body(
            task_type="categorization",
            data={
                "attachment": MARKER,
                "categories": ["x", "y"],
                "instruction": MARKER,
                "metadata": {"note": MARKER},
                "tags": [MARKER],
                "unique_id": f"{MARKER}-{mode}-{state}",
                "callback_url": f"https://example.com/{MARKER}",
            },
        ),
    )
    if state == "completed":
        task = services.task_complete(task_id=task.id, response={"category": "x"})
    return task


@pytest.fixture
def targets(account, manual_test_mode):
    """The customer's tasks: (mode, state) → task."""
    owner = account.user
    return {
        (mode, state): _task(owner, mode, state)
        for mode in (Mode.LIVE, Mode.TEST)
        for state in ("pending", "completed")
    }


def call(client, route: Route, task: Task | None):
    path = route.path.replace("{id}", task.id) if task else route.path
    method = getattr(client, route.method.lower())
    if route.body is None:
        return method(path)
    return method(path, route.body, format="json")


def assert_refused(answer, status: int):
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["status_code"] == status
    assert MARKER not in answer.content.decode()


# --- the table is complete ------------------------------------------------------------------


def _v1_patterns() -> set[str]:
    found = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == "v1/":
            found |= {str(p.pattern) for p in entry.url_patterns if isinstance(p, URLPattern)}
        elif isinstance(entry, URLPattern) and str(entry.pattern).startswith("v1/"):
            found.add(str(entry.pattern).removeprefix("v1/"))
    return found


def test_the_table_covers_every_v1_route():
    assert _v1_patterns() - PUBLIC_PATTERNS == {route.pattern for route in ROUTES}


# --- the matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_no_key_is_a_401_and_changes_nothing(api, targets, route):
    # given
    before = database_state()

    # when
    answer = call(api, route, targets[(Mode.LIVE, route.state)] if route.on_task else None)

    # then
    assert_refused(answer, 401)
    assert answer["WWW-Authenticate"].startswith("Basic")
    assert database_state() == before


@pytest.mark.parametrize("key", ["live_" + "0" * 32, "not-a-key", ""], ids=["unknown", "garbage", "empty"])
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_wrong_key_is_a_401_and_changes_nothing(api, targets, route, key):
    before = database_state()

    answer = call(api.as_key(key), route, targets[(Mode.LIVE, route.state)] if route.on_task else None)

    assert_refused(answer, 401)
    assert database_state() == before


@pytest.mark.parametrize("route", TASK_ROUTES, ids=str)
def test_another_accounts_key_is_a_404_and_changes_nothing(
    api, other_account, operator_account, targets, route
):
    # given a key of another account (staff for the operator routes, which serve any task,
    # is not "another account": the routes' own callers are tested below)
    key = other_account.live_api_key
    before = database_state()

    answer = call(api.as_key(key), route, targets[(Mode.LIVE, route.state)])

    assert_refused(answer, 404)
    assert database_state() == before


@pytest.mark.parametrize(
    ("key_mode", "task_mode"),
    [(Mode.TEST, Mode.LIVE), (Mode.LIVE, Mode.TEST)],
    ids=["test-key-live-task", "live-key-test-task"],
)
@pytest.mark.parametrize("route", [r for r in TASK_ROUTES if not r.operator], ids=str)
def test_the_other_modes_key_is_a_404_and_changes_nothing(api, account, targets, route, key_mode, task_mode):
    keys = account.keys
    key = keys.test_api_key if key_mode == Mode.TEST else keys.live_api_key
    before = database_state()

    answer = call(api.as_key(key), route, targets[(task_mode, route.state)])

    assert_refused(answer, 404)
    assert database_state() == before


@pytest.mark.parametrize("route", OPERATOR_ROUTES, ids=str)
def test_operator_routes_are_a_404_for_a_non_staff_key_even_on_its_own_task(api, account, targets, route):
    before = database_state()

    answer = call(api.as_key(account.live_api_key), route, targets[(Mode.LIVE, route.state)])

    assert_refused(answer, 404)
    assert database_state() == before


@pytest.mark.parametrize("route", OPERATOR_ROUTES, ids=str)
def test_operator_routes_work_for_staff(api, operator_account, targets, route):
    # the control of the test above: the same call by a staff key does change the task
    answer = call(api.as_key(operator_account.live_api_key), route, targets[(Mode.LIVE, route.state)])

    assert answer.status_code == 200, answer.json()


@pytest.mark.parametrize("route", [r for r in TASK_ROUTES if not r.operator], ids=str)
def test_owner_key_is_answered(api, account, targets, route):
    # the control of the isolation tests: the owner's key of the task's mode succeeds
    answer = call(api.as_key(account.live_api_key), route, targets[(Mode.LIVE, route.state)])

    assert answer.status_code == 200, answer.json()


@pytest.mark.parametrize("caller", ["other-account", "live-key", "test-key"])
def test_task_list_shows_only_the_callers_own_tasks_of_its_mode(api, account, other_account, targets, caller):
    # given the customer's tasks in both modes, and a caller
    key, mode = {
        "other-account": (other_account.live_api_key, None),
        "live-key": (account.live_api_key, Mode.LIVE),
        "test-key": (account.test_api_key, Mode.TEST),
    }[caller]

    # when it lists tasks
    answer = api.as_key(key).get("/v1/tasks")

    # then it sees exactly its own tasks of its mode
    assert answer.status_code == 200
    assert {doc["task_id"] for doc in answer.json()["docs"]} == {
        task.id for (task_mode, _), task in targets.items() if task_mode == mode
    }
