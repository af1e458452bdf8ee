"""The finding vocabulary shared by the engine, the rules and the report.

`Severity`, `Rule` (a rule's identity and declared inputs), `Hit` (what a rule's `check` yields),
`Finding` (a hit stamped with its rule's code and severity) and `Skipped` (a rule that did not
run, and why). It sits below both the engine and the rules, so neither imports the other.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from analyzer.errors import RuleError
from analyzer.model import Input, ObjectRef

if TYPE_CHECKING:
    from analyzer.model import Bundle, Ztunnel

__all__ = ["Explains", "Finding", "Hit", "Rule", "RuleError", "Scope", "Severity", "Skipped", "Subject"]

Subject = ObjectRef
"""What a finding is about; prints as `Kind namespace/name` (`Node n1` when cluster-scoped)."""

CODE_RE = re.compile(r"^ZT\d{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


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


class Scope(StrEnum):
    """Where a root's consequences can be: a causal link holds only between findings in one scope."""

    NODE = "node"  # the same node (a ztunnel problem reaches every pod it serves)
    ZTUNNEL = "ztunnel"  # the same ztunnel pod
    SUBJECT = "subject"  # the same object (one pod, one ztunnel, one service account)
    IDENTITY = "identity"  # the same workload identity (ServiceAccount, i.e. SPIFFE ID)
    MESH = "mesh"  # anywhere: a control-plane problem reaches every ztunnel


@dataclass(frozen=True, slots=True)
class Explains:
    """A declared causal link: this rule's findings explain findings of `codes` within `scope`."""

    scope: Scope
    codes: frozenset[str]

    @classmethod
    def of(cls, scope: Scope, *codes: str) -> Explains:
        return cls(scope, frozenset(codes))


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
    explains: tuple[Explains, ...] = ()
    """Findings of other rules that this rule's findings explain (see `analyzer.incidents`)."""
    priority: int = 100
    """Between two roots that could explain one finding, the lower priority wins."""
    next_steps: tuple[str, ...] = ()
    """Offline commands to look deeper, with {bundle} {ztunnel} {node} {namespace} {name} {kind}."""

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
        for link in self.explains:
            if not isinstance(link, Explains) or not all(CODE_RE.match(c) for c in link.codes):
                raise RuleError(f"{self.code}: explains must be Explains naming rule codes like ZT123")

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


@dataclass(frozen=True, slots=True)
class Finding:
    """A hit stamped with the code, name and severity of the rule that made it."""

    code: str
    rule: str
    severity: Severity
    subject: ObjectRef
    message: str
    evidence: tuple[str, ...] = ()
    node: str | None = None
    ztunnel: str | None = None
    id: str = ""
    """Stable within one bundle; set when findings are grouped into incidents."""
    caused_by: str | None = None
    """The id of the finding that explains this one."""
    also_caused_by: tuple[str, ...] = ()
    """Other findings that could explain it, with a lower priority."""

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (self.severity.rank, self.code, str(self.subject))

    @property
    def detail(self) -> str:
        """The message without its subject when it opens with it, for lists that show the subject
        in a column of their own (the JSON keeps the whole message)."""
        ref = str(self.subject)
        if self.message.startswith(ref) and len(self.message) > len(ref):
            rest = self.message[len(ref) :].lstrip(" :")
            return rest or self.message
        return self.message


@dataclass(frozen=True, slots=True)
class Skipped:
    """A rule that did not run: disabled, or an input it needs was not collected."""

    code: str
    rule: str
    reason: str
