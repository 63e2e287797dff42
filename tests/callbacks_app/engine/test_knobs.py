"""The engine's knobs (issue 29): two settings a user may set, and nothing frozen at import.

A module-level constant computed from ``settings`` is read once, when the module is imported:
a test (or an operator's override) that changes the setting afterwards is silently ignored,
and tests end up patching module globals. The engine reads its settings when it runs.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENGINE_FAMILY = sorted(
    [
        *(ROOT / "callbacks_app" / "engine").glob("*.py"),
        *(
            ROOT / "callbacks_app" / name
            for name in ("wakeups.py", "cluster_stop.py", "delivery_sql.py", "health_sql.py")
        ),
        ROOT / "scalehooks" / "db.py",
        ROOT / "tasks_app" / "completion_sql.py",
    ]
)
ENGINE_KNOBS = {"CALLBACK_SENDS_IN_FLIGHT", "CALLBACK_MAX_IN_FLIGHT_PER_TARGET"}
GONE = {
    "CALLBACK_CLAIM_GAP",
    "CALLBACK_RECORD_EVERY",
    "CALLBACK_DISPATCH_INTERVAL",
    "CALLBACK_KEEPALIVE_TIMEOUT",
}


def _reads_settings(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "settings"
        for n in ast.walk(node)
    )


@pytest.mark.parametrize("path", ENGINE_FAMILY, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_engine_module_reads_a_setting_at_import(path):
    tree = ast.parse(path.read_text())
    frozen = [
        node.lineno
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and node.value is not None
        and _reads_settings(node.value)
    ]
    assert frozen == [], f"{path.name}: module-level constants read from settings at lines {frozen}"


def test_the_engine_has_two_knobs_and_the_old_ones_are_gone():
    settings_source = (ROOT / "scalehooks" / "settings.py").read_text()
    read = {name for name in GONE | ENGINE_KNOBS if f'"{name}"' in settings_source}
    assert read == ENGINE_KNOBS
    readme = (ROOT / "README.md").read_text()
    assert not [name for name in GONE if f"`{name}`" in readme]
