"""The authorization matrix (SPEC §8): every route of the URL configuration, each with the policy
its view declares (``scalehooks.access``), tried as every kind of caller.

The routes are read from the URL configuration, not listed here: a route whose view declares no
policy fails ``test_every_route_declares_a_policy`` (and serves nobody: the API's permission
class fails closed), so a new room cannot land without saying who may enter. The callers:
nobody (no key, an unknown key, a malformed one); the owner (live key, and a portal session opened by a live key's link); the same owner's
test key (and a session its link opened, which reaches the test side only); another account; each
teammate role (portal sessions: API keys are the account's); an operator (its own API key, and a
signed-in admin session). What each may get follows from the policy alone (``expected``): refused
callers change nothing and read nothing of the owner's (``MARKER``).
"""

import copy
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.models import Task as QueuedTask
from rest_framework.test import APIClient

from callbacks_app.models import EmailConfirmation, Recovery, TargetHealth
from inbox_app.capture import Incoming, request_capture
from inbox_app.services import inbox_create
from scalehooks import access
from scalehooks.access import Action, Caller, Policy, allowed, policy_of
from tasks_app.accounts import account_create
from tasks_app.files import file_upload
from tasks_app.keys import Mode
from tasks_app.models import Batch, Membership, Project
from tests.conftest import basic_auth
from tests.factories import DeliveryFactory, TaskFactory
from tests.security.conftest import database_state

pytestmark = pytest.mark.django_db

MARKER = "private-marker-5e1d"  # in the owner's live data: never in an answer to anybody else
ROLES = ("labeler", "member", "manager", "admin")
DOMAIN = "@matrix.example"  # the world's people: made for the module, removed after it


# --- the routes, read from the URL configuration ----------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str  # the full pattern, e.g. "v1/task/<str:task_id>/cancel"
    callback: object
    regex: bool

    @property
    def policy(self) -> Policy | None:
        return policy_of(self.callback)

    @property
    def kind(self) -> str:
        if self.route.startswith(("v1/", "v2/")):
            return "api"
        if self.route.startswith("portal/"):
            return "portal"
        if self.route.startswith("admin/"):
            return "admin"
        return "other"

    @property
    def methods(self) -> tuple[str, ...]:
        view_class = getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)
        if view_class is not None and self.kind == "api":
            names = ("get", "post", "put", "patch", "delete")
            return tuple(name.upper() for name in names if hasattr(view_class, name))
        return ("GET", "POST")

    def __str__(self):
        return self.route


def routes_of(patterns, prefix: str = "") -> list[Route]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += routes_of(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            regex = entry.pattern.__class__.__name__ == "RegexPattern"
            found.append(Route(prefix + str(entry.pattern), entry.callback, regex))
    return found


def undeclared_routes(urlconf=None) -> list[str]:
    return [route.route for route in routes_of(get_resolver(urlconf).url_patterns) if route.policy is None]


ROUTES = routes_of(get_resolver().url_patterns)


def test_every_route_declares_a_policy():
    assert undeclared_routes() == []


def _undeclared_view(request):
    raise AssertionError("never called")


class UrlconfWithANewRoom:
    """The project's URL configuration plus one route whose view declares nothing."""

    urlpatterns = [*get_resolver().url_patterns, path("new-room/<int:pk>", _undeclared_view)]


def test_a_route_added_without_a_policy_is_found():
    assert undeclared_routes(UrlconfWithANewRoom) == ["new-room/<int:pk>"]


def test_every_route_is_in_the_matrix():
    # the matrix below runs on ROUTES, read from the same configuration: none is left out
    assert {route.route for route in ROUTES} == {
        route.route for route in routes_of(get_resolver().url_patterns)
    }
    assert len(ROUTES) > 150


# --- the world: the owner's live objects, carrying MARKER -------------------------------------


@dataclass
class World:
    values: dict[str, str]  # a URL parameter's name -> a value naming the owner's object
    callers: dict[str, "Callers"]


@dataclass
class Callers:
    api: APIClient | None
    browser: Client


def _portal_session(api: APIClient, *, email: str | None = None) -> Client:
    """A browser signed in to the portal through the link ``api``'s key asks for."""
    answer = api.post("/v1/portal/sessions", {"email": email} if email else {}, format="json")
    assert answer.status_code == 200, answer.content
    browser = Client()
    assert browser.post(answer.json()["url"].removeprefix("http://testserver")).status_code == 302
    return browser


def _keyed(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(key))
    return client


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, made once for the module and committed (each test's changes roll back), then
    removed: every row hangs off the users it made, or is one of ``_admin_rows``."""
    with django_db_blocker.unblock():
        before = {model: set(model.objects.values_list("pk", flat=True)) for model in ADMIN_ONLY_MODELS}
        made = _world()
        yield made
        users = get_user_model().objects.filter(email__endswith=DOMAIN)
        Batch.objects.filter(owner__in=users).delete()  # a batch protects its project
        users.delete()
        for model, kept in before.items():  # the daily schedules, made by the migrations, stay
            model.objects.exclude(pk__in=kept).delete()


def _world() -> World:
    account = account_create(email=f"owner{DOMAIN}")
    other_account = account_create(email=f"other{DOMAIN}")
    operator_account = account_create(email=f"operator{DOMAIN}", staff=True)
    owner = account.user
    project = Project.objects.create(owner=owner, name="p", type="categorization")
    batch = Batch.objects.create(owner=owner, name="b", project=project, metadata={"note": MARKER})
    task = TaskFactory(
        owner=owner,
        status="completed",
        metadata={"note": MARKER},
        callback_url=f"https://example.com/{MARKER}",
        batch="b",
        project="p",
    )
    delivery = DeliveryFactory(
        task=task, owner=owner, status="failed", target=f"https://example.com/{MARKER}", payload=f'"{MARKER}"'
    )
    now = timezone.now()
    recovery = Recovery.objects.create(owner=owner, since=now, until=now)
    target = TargetHealth.objects.create(owner=owner, mode=Mode.LIVE, origin="https://example.com:443")
    inbox = inbox_create(profile=account.profile, mode=Mode.LIVE, name=MARKER)
    incoming = Incoming(
        method="POST",
        path="/",
        query="",
        headers=[],
        body=MARKER.encode(),
        body_size=len(MARKER),
        remote_addr="127.0.0.1",
        received_at=now,
    )
    captured, _ = request_capture(inbox=inbox, incoming=incoming, query={})
    EmailConfirmation.objects.create(owner=owner, address=f"{MARKER}{DOMAIN}")
    _admin_rows(now)
    upload = ContentFile(MARKER.encode(), name="note.txt")
    stored = file_upload(owner=owner, mode=Mode.LIVE, upload=upload, project_names=[])
    values = {
        "task_id": task.id,
        "segment": task.id,
        "delivery_id": delivery.id,
        "recovery_id": str(recovery.id),
        "target_id": str(target.id),
        "batch_id": str(batch.id),
        "inbox_id": inbox.id,
        "request_id": str(captured.id),
        "token": stored.token,
        "name": stored.storage_name.rsplit("/", 1)[-1],
        "inbox_token": inbox.token,
        "rest": "x",
        "object_id": "1",  # the admin's: the first row of the route's model (url_of)
        "content_type_id": "1",
        "id": str(owner.pk),
    }

    owner_api = _keyed(account.live_api_key)
    callers = {
        "nobody": Callers(api=APIClient(), browser=Client()),
        "unknown-key": Callers(api=_keyed("live_" + "0" * 32), browser=Client()),
        "garbage-key": Callers(api=_keyed("not-a-key"), browser=Client()),
        "owner": Callers(api=owner_api, browser=_portal_session(owner_api)),
        "owner-test-key": Callers(
            api=_keyed(account.test_api_key), browser=_portal_session(_keyed(account.test_api_key))
        ),
        "another-account": Callers(
            api=_keyed(other_account.live_api_key),
            browser=_portal_session(_keyed(other_account.live_api_key)),
        ),
    }
    for role in ROLES:
        email = f"{role}{DOMAIN}"
        user = get_user_model().objects.create_user(username=email, email=email)
        Membership.objects.create(account=account.profile, user=user, role=role)
        callers[role] = Callers(api=None, browser=_portal_session(owner_api, email=email))
    operator_browser = Client()
    operator_browser.force_login(operator_account.user)
    callers["operator"] = Callers(api=_keyed(operator_account.live_api_key), browser=operator_browser)
    return World(values=values, callers=callers)


ADMIN_ONLY_MODELS = (AccessAttempt, AccessLog, AccessFailureLog, Schedule, QueuedTask, OrmQ)


def _admin_rows(now) -> None:
    """A row of each model only the admin shows, so that its object pages have one to show."""
    browser = {"user_agent": "x", "http_accept": "x", "path_info": "/"}
    AccessAttempt.objects.create(**browser, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**browser)
    AccessFailureLog.objects.create(**browser)
    Schedule.objects.create(func="math.floor")
    job = {"name": "x", "func": "math.floor", "started": now, "stopped": now}
    QueuedTask.objects.create(id="a" * 32, success=True, **job)
    QueuedTask.objects.create(id="b" * 32, success=False, **job)
    OrmQ.objects.create(key="x", payload="x")


# --- one request of a route ------------------------------------------------------------------

REGEX_EXAMPLES = {
    # the inbox's capture route: its token is the inbox's (a public route, SPEC §15)
    "inbox/": lambda values: f"/inbox/{values['inbox_token']}/hook",
    # the admin's app index and its catch-all
    "admin/^(?P<app_label>": lambda values: "/admin/tasks_app/",
    "admin/(?P<url>.*)$": lambda values: "/admin/no-such-page/",
}
OBJECT_PARAMETERS = {
    "task_id",
    "segment",
    "name",
    "delivery_id",
    "recovery_id",
    "target_id",
    "batch_id",
    "inbox_id",
    "request_id",
}


def url_of(route: Route, values: dict, method: str) -> str:
    if route.regex:
        for start, example in REGEX_EXAMPLES.items():
            if route.route.startswith(start) or route.route.lstrip("^").startswith(start.lstrip("^")):
                return example(values)
        raise AssertionError(f"No example URL for the regex route {route}: add one to REGEX_EXAMPLES")

    def value(match) -> str:
        name = match.group(2)
        if name == "object_id" and route.kind == "admin" and not route.route.startswith("admin/r/"):
            app_label, model_name = route.route.split("/")[1:3]
            return quote(str(apps.get_model(app_label, model_name).objects.order_by("pk").first().pk))
        if name == "segment" and method == "POST":
            return "categorization"  # POST /v1/task/{type} creates
        if name == "name" and route.route.startswith(("v1/projects/", "v1/batches/")):
            return "p" if route.route.startswith("v1/projects/") else "b"
        return values[name]

    return "/" + re.sub(r"<(\w+:)?(\w+)>", value, route.route)


def on_owners_object(route: Route, method: str) -> bool:
    names = set(re.findall(r"<(?:\w+:)?(\w+)>", route.route))
    if route.kind not in ("api", "portal") or route.policy is None or route.policy.caller is Caller.PUBLIC:
        return False
    if names == {"segment"} and method == "POST":
        return False
    return bool(names & OBJECT_PARAMETERS)


BODIES = {"portal/mode": {"mode": "live"}}


def request(client, route: Route, method: str, values: dict):
    url = url_of(route, values, method)
    body = BODIES.get(route.route, {})
    if isinstance(client, APIClient):
        return getattr(client, method.lower())(url, body, format="json")
    if method != "GET":
        return client.post(url, body)
    answer = client.get(url)
    location = answer.get("Location", "")
    redirected = route.kind == "admin" and answer.status_code == 302 and location.startswith("/admin/")
    if redirected and "/admin/login/" not in location:  # the admin's redirect views: where they lead decides
        return client.get(location)
    return answer


# --- what each caller may get -------------------------------------------------------------------

ALLOWED, SIGN_IN, NOT_FOUND, FORBIDDEN = "allowed", "sign-in", "not-found", "forbidden"
NOBODIES = ("nobody", "unknown-key", "garbage-key")  # no valid key, no session


def expected(route: Route, caller: str, method: str) -> str:
    policy = route.policy
    if policy.caller is Caller.PUBLIC:
        return ALLOWED
    if policy.caller in (Caller.OPERATOR, Caller.SUPERUSER):
        if caller == "operator":
            return ALLOWED if policy.caller is Caller.OPERATOR else FORBIDDEN
        return NOT_FOUND if route.kind == "api" and caller not in NOBODIES else SIGN_IN
    # an account's route: an API key, or a portal session
    if caller in NOBODIES or (caller == "operator" and route.kind == "portal"):
        return SIGN_IN  # an operator's admin session is nobody in the portal
    if policy.caller is Caller.SIGNED_IN:
        to_live = method == "POST" and BODIES.get(route.route) == {"mode": "live"}
        return FORBIDDEN if caller == "owner-test-key" and to_live else ALLOWED
    action = policy.action_for(method)
    if caller in ROLES and not allowed(caller, action):
        return FORBIDDEN
    if caller == "owner-test-key" and action.account_wide:
        return FORBIDDEN
    if caller in ("another-account", "operator", "owner-test-key") and on_owners_object(route, method):
        return NOT_FOUND
    return ALLOWED


def outcome(route: Route, answer) -> str:
    status, location = answer.status_code, answer.get("Location", "")
    assert status < 500, f"{route}: {status}"
    if route.policy.caller is Caller.PUBLIC:
        return ALLOWED  # a wrong password's 401, an unknown token's 404: answers, not refusals
    if status == 401 or (status == 302 and ("/portal/sign-in" in location or "/admin/login/" in location)):
        return SIGN_IN
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    return ALLOWED


def callers_in_order(world: World, route: Route) -> list[str]:
    """The refused callers first (they must change nothing), then the allowed ones."""
    names = [name for name in world.callers if route.kind != "api" or world.callers[name].api is not None]
    return sorted(names, key=lambda name: expected(route, name, "POST") == ALLOWED)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_the_matrix(world, route):
    assert route.policy is not None, f"{route} declares no policy"
    seen = {}
    for caller in callers_in_order(world, route):
        callers = world.callers[caller]
        client = callers.api if route.kind == "api" else callers.browser
        for method in route.methods:
            if route.kind == "admin" and method == "POST" and caller == "operator":
                continue  # an operator's POSTs are the admin's own tests (tests/*/test_admin.py)
            want = expected(route, caller, method)
            before = database_state() if want != ALLOWED else None
            cookies = copy.deepcopy(client.cookies)
            with transaction.atomic():
                answer = request(client, route, method, world.values)
                got = outcome(route, answer)
                if want == ALLOWED:
                    transaction.set_rollback(True)  # the next caller finds the same world...
            client.cookies = cookies  # ...and the same session (signing out changes the cookie)
            if want == ALLOWED and got == NOT_FOUND and not on_owners_object(route, method):
                got = ALLOWED  # a route of the caller's own data may find nothing by the example's id
            seen[(caller, method)] = (want, got, answer.status_code)
            if outsider(route, caller):
                assert MARKER not in answer.content.decode(errors="replace"), f"{route} {method} as {caller}"
            if before is not None:
                assert database_state() == before, f"{route} {method} as {caller} changed the database"
    wrong = {key: value for key, value in seen.items() if value[0] != value[1]}
    assert not wrong, f"{route} ({route.policy}): (caller, method) -> (expected, got, status): {wrong}"


def outsider(route: Route, caller: str) -> bool:
    """Whether ``caller`` may read nothing of the owner's live data on ``route``: nobody, the
    owner's test side, another account, and an operator outside the operators' routes."""
    if route.policy.caller is Caller.PUBLIC:
        return False  # a token is the secret (the owner's file, its inbox's answers)
    if caller == "operator":
        return route.policy.caller is not Caller.OPERATOR
    return caller in (*NOBODIES, "owner-test-key", "another-account")


# --- the table of who may do what -----------------------------------------------------------------


def test_the_roles_are_scales_and_the_models():
    assert set(access.ROLE_ACTIONS) == set(Membership.Role.values)


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("labeler", {Action.READ, Action.OWN_PASSWORD}),
        ("member", {Action.READ, Action.OWN_PASSWORD}),
        ("manager", {Action.READ, Action.OWN_PASSWORD, Action.OPERATE}),
        ("admin", set(Action)),
        ("owner-of-nothing", set()),
    ],
)
def test_what_each_role_may_do(role, may):
    assert {action for action in Action if allowed(role, action)} == may
