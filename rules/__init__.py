"""Rule discovery: one module per rule, found with pkgutil (plus `--rules-dir` modules).

A rule module defines exactly `RULE` (a `Rule`) and `check(bundle) -> Iterator[Hit]`. The finding
vocabulary (`Severity`, `Rule`, `Hit`, `RuleError`) lives in `analyzer.findings` and is re-exported
here, so a rule module imports it from `rules`.

Comments name the false-positive guards a rule applies as `guard: <name>`; `docs/rule-guards.md`
describes each guard and, per rule family, the bundle signal the rules read.

A module whose name starts with `_` (`rules/_certs.py`) is never a rule: discovery skips it, here
and in `--rules-dir`, so a family of rules can share helpers without copying them.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from types import ModuleType

from analyzer.findings import Explains, Hit, Rule, RuleError, Scope, Severity, Subject

__all__ = [
    "Explains",
    "Hit",
    "Rule",
    "RuleError",
    "Scope",
    "Severity",
    "Subject",
    "all_rules",
    "by_code",
    "combined",
    "iter_docs",
    "load_dir",
]


def _from_module(mod: ModuleType) -> Rule:
    rule = getattr(mod, "RULE", None)
    check = getattr(mod, "check", None)
    if not isinstance(rule, Rule) or not callable(check):
        raise RuleError(f"{mod.__name__}: a rule module must define RULE (a Rule) and check(bundle)")
    expected = rule.name.replace("-", "_")
    if mod.__name__.rsplit(".", 1)[-1] != expected:
        raise RuleError(f"{mod.__name__}: module for {rule.code} must be named {expected}.py")
    return replace(rule, check=check, module=mod.__name__)


def _unique(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    seen_code: dict[str, str] = {}
    seen_name: dict[str, str] = {}
    out = sorted(rules, key=lambda r: r.code)
    for r in out:
        for seen, key in ((seen_code, r.code), (seen_name, r.name)):
            if key in seen:
                raise RuleError(f"{key} is defined by both {seen[key]} and {r.module}")
            seen[key] = r.module
    return tuple(out)


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule in this package, sorted by code."""
    names = (m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return _unique(_from_module(importlib.import_module(f"{__name__}.{n}")) for n in names)


def by_code(code: str) -> Rule:
    """The built-in rule with this code (check attached); KeyError when unknown."""
    for rule in all_rules():
        if rule.code == code:
            return rule
    raise KeyError(code)


def load_dir(path: Path) -> tuple[Rule, ...]:
    """Import every `*.py` in `path` as a rule module (for `--rules-dir`)."""
    if not path.is_dir():
        raise RuleError(f"{path}: not a directory")
    found = []
    for file in sorted(path.glob("*.py")):
        if file.name.startswith("_"):
            continue
        name = f"ztbundle_extra_rules.{file.stem}"
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise RuleError(f"{file}: cannot be imported")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except RuleError:
            raise
        except Exception as exc:  # a broken extra rule is the user's input, report it in one line
            raise RuleError(f"{file}: {type(exc).__name__}: {exc}") from exc
        found.append(_from_module(mod))
    return tuple(found)


def combined(extra: Iterable[Rule] = ()) -> tuple[Rule, ...]:
    """Built-in rules plus extras, with codes and names still unique."""
    return _unique([*all_rules(), *extra])


def iter_docs() -> Iterator[tuple[str, str, str]]:
    """(code, name, documentation) of every built-in rule, for the report appendix."""
    for rule in all_rules():
        yield rule.code, rule.name, rule.documentation
