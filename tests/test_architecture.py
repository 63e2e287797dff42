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
CALLBACKS_MAY_IMPORT = (
    "tasks_app.models",
    "tasks_app.representation",
    "tasks_app.callback_outcomes",
    "tasks_app.locks",
    "tasks_app.profiles_sql",
)
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
    "tasks_app/locks.py",
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


def test_callbacks_app_reaches_tasks_app_only_through_models_representation_outcomes_and_locks():
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


# A module of an app builds and runs SQL on its own app's tables only, and locks no other app's
# row: the app that owns a table reads it for locking and writes it, through a service. SQL is
# seen however it is built: a table's name in any string (an f-string's parts included), or a
# model's ``_meta.db_table`` (the model named directly, through an import, or through
# ``_meta.get_field(...).related_model``; ``quote_name`` of either is the same expression);
# a ``select_for_update`` of another app's model (or of one it joins with ``select_related``).
APPS_WITH_TABLES = ("tasks_app", "callbacks_app", "inbox_app", "portal_app")


def tables_of(app: str) -> set[str]:
    from django.apps import apps

    return {model._meta.db_table for model in apps.get_app_config(app).get_models(include_auto_created=True)}


def _bindings(tree: ast.Module) -> dict[str, str]:
    """Each name a module's imports bind, as the dotted path of what it names."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.partition(".")[0]] = (
                    alias.name if alias.asname else alias.name.partition(".")[0]
                )
    return bound


def _object(dotted: str):
    import importlib

    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        try:
            return importlib.import_module(dotted)
        except ImportError:
            return None


def _model_of(node: ast.expr, bound: dict[str, str]):
    """The model class ``node`` evaluates to, as far as the source says, else None."""
    from django.db import models

    found = None
    if isinstance(node, ast.Name) and node.id in bound:
        found = _object(bound[node.id])
    elif isinstance(node, ast.Attribute) and node.attr == "related_model":
        call = node.value  # X._meta.get_field("name").related_model
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "get_field"
            and call.args
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.func.value, ast.Attribute)
            and call.func.value.attr == "_meta"
        ):
            owner = _model_of(call.func.value.value, bound)
            if owner is not None:
                found = owner._meta.get_field(call.args[0].value).related_model
    elif isinstance(node, ast.Attribute):
        holder = _model_of(node.value, bound) if not isinstance(node.value, ast.Name) else None
        module = (
            _object(bound[node.value.id])
            if isinstance(node.value, ast.Name) and node.value.id in bound
            else None
        )
        found = getattr(module, node.attr, None) if module is not None else holder
    return found if isinstance(found, type) and issubclass(found, models.Model) else None


def _queryset_models(call: ast.Call, bound: dict[str, str], parents: dict) -> list:
    """The models whose rows ``….select_for_update(…)`` locks, as far as the source says: the
    queryset's model (``X.objects…``), and those it joins with ``select_related`` (before or
    after it in the chain) unless ``of=`` names only its own."""
    of = any(keyword.arg == "of" for keyword in call.keywords)
    related, node = [], call
    while isinstance(parent := parents.get(node), ast.Attribute | ast.Call):
        if isinstance(parent, ast.Call) and getattr(parent.func, "attr", None) == "select_related":
            related += [arg.value for arg in parent.args if isinstance(arg, ast.Constant)]
        node = parent
    node = call.func
    while True:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "select_related":
                related += [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
            node = node.func
        elif isinstance(node, ast.Attribute) and node.attr in ("objects", "_default_manager"):
            model = _model_of(node.value, bound)
            break
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return []
    if model is None:
        return []
    joined = [] if of else [model._meta.get_field(path.split("__")[0]).related_model for path in related]
    return [model, *joined]


def foreign_sql(app: str) -> list[str]:
    """Where a module of ``app`` builds SQL on, or locks, another app's table."""
    others = [other for other in APPS_WITH_TABLES if other != app]
    names = sorted({table for other in others for table in tables_of(other)}, key=len, reverse=True)
    literal = re.compile(
        r"(?<![\w:])(?:" + "|".join([*map(re.escape, names), *(f"{o}_\\w+" for o in others)]) + ")"
    )
    found = []
    for path in modules(app):
        tree = ast.parse(path.read_text())
        bound = _bindings(tree)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            where = f"{relative(path)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [f"{where}: the table name {match!r}" for match in literal.findall(node.value)]
            elif isinstance(node, ast.Attribute) and node.attr == "db_table":
                meta = node.value
                model = (
                    _model_of(meta.value, bound)
                    if isinstance(meta, ast.Attribute) and meta.attr == "_meta"
                    else None
                )
                if model is None:
                    found.append(f"{where}: {ast.unparse(node)}, a table the source does not name")
                elif model._meta.app_label != app:
                    found.append(
                        f"{where}: {ast.unparse(node)}, {model._meta.app_label}'s {model._meta.db_table}"
                    )
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "select_for_update"
            ):
                found += [
                    f"{where}: {ast.unparse(node.func)[:60]}… locks {model._meta.app_label}'s {model._meta.db_table}"
                    for model in _queryset_models(node, bound, parents)
                    if model._meta.app_label != app
                ]
    return sorted(found, key=lambda line: (line.split(":")[0], int(line.split(":")[1])))


@pytest.mark.parametrize("app", APPS_WITH_TABLES)
def test_an_app_builds_sql_on_and_locks_only_its_own_tables(app):
    assert foreign_sql(app) == []


def test_the_sql_rule_sees_sql_however_it_is_built(tmp_path, monkeypatch):
    """The rule's own check: each way of naming another app's table is found."""
    module = tmp_path / "probe.py"
    module.write_text(
        "from tasks_app.models import Task\n"
        "from tasks_app import models as task_models\n"
        "from callbacks_app.models import Delivery\n"
        "a = 'SELECT id FROM tasks_app_task'\n"
        "b = f'UPDATE {conn.ops.quote_name(Task._meta.db_table)} SET x = 1'\n"
        "c = Delivery._meta.get_field('task').related_model._meta.db_table\n"
        "d = task_models.Batch._meta.db_table\n"
        "e = some_model._meta.db_table\n"
        "f = Task.objects.select_for_update().get(id=1)\n"
        "g = Delivery.objects.select_for_update().select_related('task')\n"
        "h = Delivery.objects.select_for_update(of=('self',)).select_related('task')\n"
        "i = reverse('admin:tasks_app_task_change')\n"
    )
    monkeypatch.setattr(__name__ + ".modules", lambda app: [module])
    monkeypatch.setattr(__name__ + ".relative", lambda path: path.name)
    found = [line.split(": ", 1)[0] for line in foreign_sql("callbacks_app")]
    assert found == [f"probe.py:{n}" for n in (4, 5, 6, 7, 8, 9, 10)]


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
