"""Input tracking: which collected `Input` each attribute a rule reads comes from.

`Bundle`, `Ztunnel` and `Istiod` declare `_INPUTS` (attribute → Input) and share one `_reads` set,
`bundle.inputs_read`; the rule meta-test compares it with each rule's `needs`. `@track_reads` puts a
recording descriptor on each declared attribute only, so every other attribute is read at C speed
(a `__getattribute__` hook ran Python code on every read: ~2 s of a 1,000-node analyze).
Code that reads a tracked attribute for itself, not on a rule's behalf, uses `untracked()`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from ztbundle.layout import Input

C = TypeVar("C", bound=type)


class Tracked:
    """A model class whose `_INPUTS` attributes `@track_reads` records into the shared `_reads` set."""

    __slots__ = ()
    _INPUTS: ClassVar[Mapping[str, Input | tuple[Input, ...]]] = {}


class _Read:
    """One tracked attribute: records its inputs, then reads through the attribute it replaced."""

    __slots__ = ("inner", "inputs")

    def __init__(self, inner: Any, inputs: Input | tuple[Input, ...]) -> None:
        self.inner = inner
        self.inputs = inputs if isinstance(inputs, tuple) else (inputs,)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is not None:
            obj._reads.update(self.inputs)
        return self.inner.__get__(obj, owner) if hasattr(self.inner, "__get__") else self.inner

    def __set__(self, obj: Any, value: Any) -> None:  # a frozen dataclass's __init__ sets its fields
        self.inner.__set__(obj, value)


def track_reads(cls: C) -> C:
    """Class decorator (above `@dataclass`): record every read of the attributes in `cls._INPUTS`."""
    for name, inputs in cls._INPUTS.items():
        inner = _class_attr(cls, name)
        if inner is None:
            raise TypeError(f"{cls.__name__}._INPUTS names {name!r}, which the class does not have")
        if not isinstance(inner, _Read):
            setattr(cls, name, _Read(inner, inputs))
    return cls


def _class_attr(cls: type, name: str) -> Any:
    """The attribute `name` as the class (or its nearest base) defines it, unbound; None if none does."""
    return next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)


def untracked(obj: Any, name: str) -> Any:
    """`obj.name` without recording it as a rule's read."""
    return _reader(type(obj), name)(obj)


@functools.cache
def _reader(cls: type, name: str) -> Callable[[Any], Any]:
    attr = _class_attr(cls, name)
    if not isinstance(attr, _Read):
        return operator.attrgetter(name)
    inner = attr.inner
    if not hasattr(inner, "__get__"):
        return lambda obj: inner
    get = inner.__get__
    return lambda obj: get(obj, cls)
