"""Imports run one way: CLI → collector / analyzer → the bundle contract; rules → model and findings.

Every module of the four packages is parsed with `ast`; every import counts, also one inside a
function or under `if TYPE_CHECKING:`. The allowed edges:

- `ztbundle.cli`, `ztbundle.__main__`, `ztbundle._entry` and `ztbundle.commands.*` (the CLI) may import
  anything;
- the bottom, `ztbundle` (only `__version__`), `ztbundle.layout`, `ztbundle.schema_check` (the
  manifest schema compiled), `ztbundle.exits` and `ztbundle.errors`, imports only the bottom;
- `collector.*` imports `collector.*` and the bottom;
- `analyzer.*` imports `analyzer.*`, `ztbundle.layout`, `ztbundle.schema_check` and `ztbundle` for
  `__version__` (the JSON report's `generated_by`); never `rules`, `collector`, the CLI,
  `ztbundle.errors` or `ztbundle.exits` (the CLI maps the analyzer's own errors to exit codes);
- `rules.*` imports `rules.*`, `analyzer.model` (and its modules) and `analyzer.findings`.

So the engine receives its rules as a parameter, never by import. No module imports itself back
through a loop either (a cycle hidden by a function-level import counts). `--help` loads neither a
rule nor the report.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ztbundle", "collector", "analyzer", "rules")
BOTTOM = frozenset(
    {"ztbundle", "ztbundle.layout", "ztbundle.schema_check", "ztbundle.exits", "ztbundle.errors"}
)


@functools.cache
def _sources() -> tuple[tuple[str, str], ...]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out.append((name, path.read_text(encoding="utf-8")))
    return tuple(out)


def sources() -> dict[str, str]:
    """Module name → source text of every module in the four packages."""
    return dict(_sources())


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


@functools.cache
def _statements(source: str) -> tuple[tuple[str | None, tuple[str, ...], int], ...]:
    """(from-module or None for `import`, imported names, relative level) of every import statement."""
    found: list[tuple[str | None, tuple[str, ...], int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.append((None, tuple(a.name for a in node.names), 0))
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", tuple(a.name for a in node.names), node.level))
    return tuple(found)


def imports(module: str, source: str, known: frozenset[str]) -> Iterator[str]:
    """Project modules `module` imports anywhere in its source (`from p import m` names `p.m`)."""
    is_package = any(k.startswith(f"{module}.") for k in known)
    for base, names, level in _statements(source):
        if base is None:
            targets = list(names)
        else:
            if level:  # relative: resolve against this module's package
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{n}" if f"{base}.{n}" in known else base for n in names]
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield target


def allowed(source: str, target: str) -> bool:
    """Whether module `source` may import module `target`."""
    if source in ("ztbundle.cli", "ztbundle.__main__", "ztbundle._entry", "ztbundle.outfile") or _inside(
        source, "ztbundle.commands"
    ):
        return True
    if source in BOTTOM:
        return target in BOTTOM
    if _inside(source, "collector"):
        return _inside(target, "collector") or target in BOTTOM
    if _inside(source, "analyzer"):
        shared = ("ztbundle.layout", "ztbundle.schema_check", "ztbundle")
        return _inside(target, "analyzer") or target in shared
    if _inside(source, "rules"):
        return _inside(target, "rules") or _inside(target, "analyzer.model") or target == "analyzer.findings"
    return False  # a module outside every layer above: decide where it belongs first


def violations(modules: Mapping[str, str]) -> list[str]:
    """`source → target` for every import the layering does not allow."""
    known = frozenset(modules)
    return sorted(
        f"{name} → {target}"
        for name, text in modules.items()
        for target in set(imports(name, text, known))
        if not allowed(name, target)
    )


def cycles(modules: Mapping[str, str]) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan's algorithm)."""
    known = frozenset(modules)
    graph = {
        n: sorted({t for t in imports(n, s, known) if t in known and t != n}) for n, s in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_every_import_follows_the_layering() -> None:
    assert violations(sources()) == []


def test_the_engine_and_the_analyzer_package_never_import_rules() -> None:
    modules = sources()
    known = frozenset(modules)
    for name in ("analyzer", "analyzer.engine"):
        assert not any(_inside(t, "rules") for t in imports(name, modules[name], known)), name


def test_the_version_is_all_the_analyzer_takes_from_the_ztbundle_package() -> None:
    """`ztbundle/__init__.py` is allowed to the analyzer because it only holds `__version__`."""
    tree = ast.parse(sources()["ztbundle"])
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def test_no_module_imports_itself_back() -> None:
    assert cycles(sources()) == []


def test_a_cycle_hidden_in_a_function_is_caught() -> None:
    back = "def baseline_for():\n    from analyzer.model.bundle import Bundle\n    return Bundle"
    assert cycles(_with({"analyzer.model.baseline": back})) == [
        ["analyzer.model.baseline", "analyzer.model.bundle"]
    ]


def _with(extra: Mapping[str, str]) -> dict[str, str]:
    modules = sources()
    for name, text in extra.items():
        modules[name] = modules.get(name, "") + "\n" + text
    return modules


UPWARD = [
    ("analyzer.engine", "import rules", "analyzer.engine → rules"),
    ("analyzer", "def f():\n    from rules import Severity\n    return Severity", "analyzer → rules"),
    (
        "analyzer.model.bundle",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ztbundle.commands import analyze",
        "analyzer.model.bundle → ztbundle.commands.analyze",
    ),
    ("analyzer.load", "from collector import members", "analyzer.load → collector.members"),
    ("analyzer.errors", "from ztbundle.errors import UsageError", "analyzer.errors → ztbundle.errors"),
    ("collector.runner", "from analyzer.model import Bundle", "collector.runner → analyzer.model"),
    ("collector.archive", "import ztbundle.cli", "collector.archive → ztbundle.cli"),
    ("rules.stale_workload", "from ztbundle import layout", "rules.stale_workload → ztbundle.layout"),
    ("rules.upward", "from analyzer.load import load_bundle", "rules.upward → analyzer.load"),
    ("ztbundle.layout", "from analyzer import text", "ztbundle.layout → analyzer.text"),
]


@pytest.mark.parametrize(
    ("module", "code", "edge"), UPWARD, ids=[edge.replace(" → ", "->") for _, _, edge in UPWARD]
)
def test_an_upward_import_is_caught(module: str, code: str, edge: str) -> None:
    assert violations(_with({module: code})) == [edge]


def test_relative_imports_resolve_to_the_module_they_name() -> None:
    modules = _with({"rules.relative": "from ..analyzer import load"})
    assert violations(modules) == ["rules.relative → analyzer.load"]


def test_help_imports_no_rule_and_no_report_module() -> None:
    """`--help` stays fast: neither the rules, nor the report, nor the Kubernetes client load.

    `-X importtime` lists what `import` statements load; modules loaded through `importlib`
    (how the CLI finds its commands and how rules are discovered) are not in it, so the loaded
    modules are read from `sys.modules` too.
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ztbundle", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    timed = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    script = (
        "import sys\nfrom ztbundle.cli import main\nmain(['--help'])\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    ).stderr.split()
    assert "ztbundle.cli" in timed and "ztbundle.commands.analyze" in loaded  # both lists are real
    for name in [*timed, *loaded]:
        assert not _inside(name, "rules"), name
        assert not _inside(name, "analyzer.report"), name
        assert not _inside(name, "kubernetes"), name
