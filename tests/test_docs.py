"""The docs say what is: README's configuration table names every environment variable the service
reads, docs/architecture.md names only modules and objects that exist, and docs/benchmarks.md is the
current figures of the bench scripts that exist, each named."""

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where the service reads its environment: the settings, and gunicorn's configuration.
ENVIRONMENT_READERS = ("scalehooks/settings.py", "deploy/gunicorn.conf.py")
PACKAGES = ("scalehooks", "tasks_app", "callbacks_app", "portal_app", "inbox_app", "bench", "deploy", "tests")
VARIABLE = re.compile(r"[A-Z][A-Z0-9_]+")


def environment_read(source: str) -> set[str]:
    """The variable names a module reads: ``env(...)``, ``env.<cast>(...)``, ``os.environ.get(...)``,
    ``os.getenv(...)`` and ``os.environ[...]`` with a literal name."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            function = ast.unparse(node.func)
            if function in ("env", "os.environ.get", "os.getenv") or function.startswith("env."):
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return {name for name in names if VARIABLE.fullmatch(name)}


def readme_configuration() -> set[str]:
    """The variables README's configuration table documents (its rows' first column)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_environment_read_finds_every_form_of_reading():
    source = (
        'import os\nA = env("ONE")\nB = env.int("TWO", default=1)\nC = os.environ.get("THREE")\n'
        'D = os.environ["FOUR"]\nE = os.getenv("FIVE")\nF = env.str("/not/a/name")\n'
    )

    assert environment_read(source) == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}


def test_readme_documents_every_variable_the_service_reads_and_no_other():
    read = set()
    for path in ENVIRONMENT_READERS:
        read |= environment_read((ROOT / path).read_text())
    documented = readme_configuration()

    assert read - documented == set(), "read but missing from README's configuration table"
    assert documented - read == set(), "in README's configuration table but read nowhere"


def _architecture_references() -> tuple[set[str], set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    files = set(re.findall(r"`([a-z_][a-z0-9_/]*\.py)`", text))
    dotted = set(
        re.findall(
            r"`((?:scalehooks|tasks_app|callbacks_app|portal_app|inbox_app)(?:\.[A-Za-z_0-9]+)+)`", text
        )
    )
    return files, dotted


def test_architecture_names_only_files_that_exist():
    files, _ = _architecture_references()
    every_file = {
        path.relative_to(ROOT).as_posix() for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }
    every_file |= {path.name for path in ROOT.glob("*.py")}

    missing = sorted(
        name for name in files if not any(path == name or path.endswith("/" + name) for path in every_file)
    )

    assert files, "docs/architecture.md names no module"
    assert missing == []


def test_architecture_names_only_modules_and_objects_that_exist():
    _, dotted = _architecture_references()
    missing = []
    for reference in sorted(dotted):
        parts = reference.split(".")
        # The longest importable prefix is the module; the rest are attributes of it.
        for split in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            for attribute in parts[split:]:
                found = getattr(found, attribute, None)
            if found is None:
                missing.append(reference)
            break
        else:
            missing.append(reference)

    assert dotted, "docs/architecture.md names no module by its dotted path"
    assert missing == []


# bench/ scripts that print no figures of their own: the parts the benchmarks are built from.
BENCH_PARTS = {"harness.py", "receiver.py", "api_bench_settings.py", "api_bench_urls.py"}
BENCHMARKS_MAX_LINES = 400


def _benchmarks_text() -> str:
    return (ROOT / "docs" / "benchmarks.md").read_text()


def test_benchmarks_is_at_most_400_lines():
    lines = _benchmarks_text().count("\n")

    assert lines <= BENCHMARKS_MAX_LINES, "docs/benchmarks.md: the current figures, the history in git"


def test_benchmarks_names_only_bench_scripts_that_exist():
    named = set(re.findall(r"\bbench/[A-Za-z0-9_/]+\.py\b", _benchmarks_text()))
    missing = sorted(name for name in named if not (ROOT / name).is_file())

    assert named, "docs/benchmarks.md names no bench script"
    assert missing == []


def test_benchmarks_names_every_bench_script_that_prints_figures():
    named = set(re.findall(r"\bbench/([A-Za-z0-9_]+\.py)\b", _benchmarks_text()))
    scripts = {path.name for path in (ROOT / "bench").glob("*.py")} - BENCH_PARTS

    assert scripts, "bench/ holds no script"
    assert sorted(scripts - named) == []
