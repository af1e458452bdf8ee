"""Rule framework: `Severity`, `Rule`, `Hit`, and discovery of one-module-per-rule checks.

A rule module defines exactly `RULE` (a `Rule`) and `check(bundle) -> Iterator[Hit]`. Modules in
this package are discovered with pkgutil; `--rules-dir` adds modules from another folder.

A module whose name starts with `_` (`rules/_certs.py`) is never a rule: discovery skips it, here
and in `--rules-dir`, so a family of rules can share helpers without copying them.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from analyzer.causality import Explains, Scope
from analyzer.model import Input, ObjectRef
from ztbundle.errors import UsageError

if TYPE_CHECKING:
    from analyzer.model import Bundle, Ztunnel

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
    "load_dir",
]

Subject = ObjectRef
"""What a finding is about; prints as `Kind namespace/name` (`Node n1` when cluster-scoped)."""

CODE_RE = re.compile(r"^ZT\d{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class RuleError(UsageError):
    """A rule module that is malformed; raised at import/discovery time, never at run time."""


class Severity(StrEnum):
    """How bad a finding is; `rank` orders them, most severe first."""

    ERROR = "error"  # traffic is or will be broken
    WARNING = "warning"  # degraded or fragile
    INFO = "info"  # worth knowing

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when self is as severe as `other` or more."""
        return self.rank <= other.rank


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _check_doc(code: str, doc: str | None) -> None:
    text = (doc or "").strip()
    if not text or text.startswith(("Evidence:", "Fix:")):
        raise RuleError(f"{code}: docstring needs a summary line")
    ev, fix = text.find("\nEvidence:"), text.find("\nFix:")
    if ev < 0 or fix < 0 or fix < ev:
        raise RuleError(f"{code}: docstring needs 'Evidence:' then 'Fix:' sections")


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's identity and declared inputs; `check` is attached at discovery."""

    code: str
    name: str
    severity: Severity
    needs: frozenset[Input]
    doc: str | None
    check: Callable[[Bundle], Iterable[Hit]] | None = field(default=None, compare=False, repr=False)
    module: str = field(default="", compare=False)
    grid_columns: frozenset[str] = frozenset()
    """Node-grid columns of the report this rule's findings colour (`analyzer.sections.nodes.Column`)."""
    explains: tuple[Explains, ...] = ()  # findings of other rules that this rule's findings explain
    priority: int = 100  # between two roots that could explain one finding, the lower wins
    next_steps: tuple[str, ...] = ()  # offline commands to look deeper: {bundle} {ztunnel} {node} …

    def __post_init__(self) -> None:
        if not CODE_RE.match(self.code):
            raise RuleError(f"{self.code!r}: rule code must look like ZT123")
        if not NAME_RE.match(self.name):
            raise RuleError(f"{self.code}: rule name {self.name!r} must be kebab-case")
        if not isinstance(self.severity, Severity):
            raise RuleError(f"{self.code}: severity must be a Severity")
        if not self.needs or not all(isinstance(i, Input) for i in self.needs):
            raise RuleError(f"{self.code}: needs must be a non-empty frozenset of Input")
        _check_doc(self.code, self.doc)

    @property
    def summary(self) -> str:
        """The docstring's first line."""
        return (self.doc or "").strip().splitlines()[0]

    @property
    def fix_line(self) -> str:
        """The Fix section's first sentence on one line, for a terminal summary."""
        doc = inspect.cleandoc(self.doc or "")
        _, sep, fix = doc.partition("\nFix:")
        text = " ".join(fix.split()) if sep else ""
        end = text.find(". ")
        return text if end < 0 else text[: end + 1]

    @property
    def documentation(self) -> str:
        """The docstring without indentation, for the report's rule appendix."""
        return inspect.cleandoc(self.doc or "")


@dataclass(frozen=True, slots=True)
class Hit:
    """One thing a rule observed; the engine stamps code and severity onto it."""

    subject: ObjectRef
    message: str
    evidence: tuple[str, ...] = ()
    node: str | None = None
    ztunnel: str | None = None

    @classmethod
    def on(
        cls,
        ztunnel: Ztunnel,
        message: str,
        *,
        subject: ObjectRef | None = None,
        evidence: tuple[str, ...] | None = None,
    ) -> Hit:
        """A hit seen in one ztunnel: about it unless `subject` says otherwise; evidence its dump."""
        return cls(
            subject=subject or ztunnel.ref,
            message=message,
            evidence=(ztunnel.config_dump_path,) if evidence is None else evidence,
            node=ztunnel.node,
            ztunnel=ztunnel.name,
        )


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
