"""The layout rules of docs/architecture.md ("What each app may import"), checked on the source."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400

# What one app may import of the other: module prefixes, and the files allowed more.
TASKS_MAY_IMPORT = ("callbacks_app.services", "callbacks_app.targets")
TASKS_ADMIN_MAY_IMPORT = (
    "callbacks_app.admin_actions",
    "callbacks_app.admin_display",
    "callbacks_app.models",
    "callbacks_app.resends",
    "callbacks_app.task_targets",
)
CALLBACKS_MAY_IMPORT = ("tasks_app.models", "tasks_app.representation", "tasks_app.callback_outcomes")
CALLBACKS_VIEWS_MAY_IMPORT = ("tasks_app.selectors", "tasks_app.schema")
# The inbox reads accounts (their keys and secrets) and the ledger; it writes neither.
INBOX_MAY_IMPORT = ("tasks_app.models", "tasks_app.keys", "callbacks_app.models")
INBOX_VIEWS_MAY_IMPORT = ("tasks_app.views.common",)
# The domain speaks Django: these raise domain errors or Django's ValidationError, never DRF's.
DOMAIN_MODULES = (
    "tasks_app/services.py",
    "tasks_app/task_fields.py",
    "tasks_app/batches.py",
    "tasks_app/teams.py",
    "tasks_app/files.py",
    "tasks_app/operators.py",
    "callbacks_app/confirmations.py",
    "tasks_app/selectors.py",
    "tasks_app/validators.py",
    "tasks_app/task_types/__init__.py",
    "tasks_app/task_types/base.py",
    "tasks_app/task_types/text.py",
    "tasks_app/task_types/image.py",
    "tasks_app/task_types/video.py",
    "tasks_app/accounts.py",
    "tasks_app/callback_outcomes.py",
    "callbacks_app/services.py",
    "callbacks_app/selectors.py",
    "callbacks_app/targets.py",
    "callbacks_app/recovery.py",
    "portal_app/links.py",
    "portal_app/access.py",
    "inbox_app/services.py",
    "inbox_app/selectors.py",
    "inbox_app/capture.py",
    "inbox_app/answers.py",
    "inbox_app/verification.py",
)


def modules(app: str) -> list[Path]:
    return sorted(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def crossings(app: str, other: str) -> list[tuple[Path, str]]:
    return [
        (path, name)
        for path in modules(app)
        for name in imported(path)
        if name == other or name.startswith(f"{other}.")
    ]


def allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_tasks_app_reaches_callbacks_app_only_through_its_services_and_targets():
    crossings_found = crossings("tasks_app", "callbacks_app")
    assert crossings_found, "the rule checks nothing: tasks_app imports nothing of callbacks_app"
    wrong = [
        f"{relative(path)}: {name}"
        for path, name in crossings_found
        if name != "callbacks_app"  # the package itself, named by `from callbacks_app.x import y` walks
        and not allowed(name, TASKS_MAY_IMPORT)
        and not (path.parent.name == "admin" and allowed(name, TASKS_ADMIN_MAY_IMPORT))
    ]
    assert wrong == []


def test_callbacks_app_reaches_tasks_app_only_through_models_representation_and_outcomes():
    crossings_found = crossings("callbacks_app", "tasks_app")
    assert crossings_found, "the rule checks nothing: callbacks_app imports nothing of tasks_app"
    wrong = [
        f"{relative(path)}: {name}"
        for path, name in crossings_found
        if name != "tasks_app"
        and not allowed(name, CALLBACKS_MAY_IMPORT)
        and not (path.name == "views.py" and allowed(name, CALLBACKS_VIEWS_MAY_IMPORT))
    ]
    assert wrong == []


def test_inbox_app_reads_only_accounts_and_the_ledger():
    crossings_found = [*crossings("inbox_app", "tasks_app"), *crossings("inbox_app", "callbacks_app")]
    assert crossings_found, "the rule checks nothing: inbox_app imports nothing of the other apps"
    wrong = [
        f"{relative(path)}: {name}"
        for path, name in crossings_found
        if name not in ("tasks_app", "callbacks_app")
        and not allowed(name, INBOX_MAY_IMPORT)
        and not (path.name == "views.py" and allowed(name, INBOX_VIEWS_MAY_IMPORT))
    ]
    assert wrong == []


@pytest.mark.parametrize("app", ["tasks_app", "callbacks_app", "scalehooks"])
def test_nothing_imports_inbox_app_but_the_root_urls(app):
    found = [relative(path) for path, _ in crossings(app, "inbox_app")]
    assert [path for path in found if path != "scalehooks/urls.py"] == []


def test_callbacks_app_holds_no_sql_on_a_tasks_app_table():
    # The admin's URL names (``admin:tasks_app_task_change``) are not SQL.
    table = re.compile(r"(?<!admin:)\btasks_app_\w+")
    found = [
        f"{relative(path)}: {match}"
        for path in modules("callbacks_app")
        for match in table.findall(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_the_domain_does_not_speak_drf(module):
    path = ROOT / module
    assert path.exists(), f"{module} moved: update DOMAIN_MODULES"
    assert not [name for name in imported(path) if name.startswith("rest_framework")]


# The portal calls the services and selectors the API, the admin and the commands use; it never
# reaches into another app's views, admin or API serializers.
PORTAL_MAY_NOT_IMPORT = ("views", "admin", "admin_actions", "serializers")


def test_portal_app_uses_services_and_selectors_never_views():
    crossings_found = [
        (path, name)
        for app in ("tasks_app", "callbacks_app", "inbox_app")
        for path, name in crossings("portal_app", app)
    ]
    assert crossings_found, "the rule checks nothing: portal_app imports nothing of the other apps"
    wrong = [
        f"{relative(path)}: {name}"
        for path, name in crossings_found
        if any(part in PORTAL_MAY_NOT_IMPORT for part in name.split(".")[1:2])
    ]
    assert wrong == []


def test_no_module_is_over_400_lines():
    long = {
        relative(path): n
        for app in ("scalehooks", "tasks_app", "callbacks_app", "inbox_app", "portal_app")
        for path in modules(app)
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
