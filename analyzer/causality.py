"""The vocabulary of causal links a rule declares: `Explains` within a `Scope`.

`analyzer.incidents` reads these links to group findings into incidents. They live apart from it
so rule declarations can name them without importing the grouping.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
