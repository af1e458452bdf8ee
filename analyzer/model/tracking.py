"""Input tracking: which collected `Input` each attribute a rule reads comes from.

`Bundle`, `Ztunnel` and `Istiod` declare `_INPUTS` (attribute → Input) and share one `_reads` set,
`bundle.inputs_read`; the rule meta-test compares it with each rule's `needs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ztbundle.layout import Input


class Tracked:
    """Records the Input behind each tracked attribute read into the shared `_reads` set."""

    __slots__ = ()
    _INPUTS: ClassVar[Mapping[str, Input | tuple[Input, ...]]] = {}

    def __getattribute__(self, name: str) -> Any:
        got = type(self)._INPUTS.get(name)
        if got is not None:
            reads: set[Input] = object.__getattribute__(self, "_reads")
            if isinstance(got, tuple):
                reads.update(got)
            else:
                reads.add(got)
        return object.__getattribute__(self, name)
