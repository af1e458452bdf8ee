"""istioctl's `kubectl get … -o yaml` members (YAML `List`s of mixed kinds) → objects grouped by kind.

kubectl writes plain YAML: no anchors, aliases or tags, and every string that YAML would read as
something else quoted. Anything beyond that is refused with a one-line BundleError: an alias (a
shared node) would let a few bytes expand into gigabytes once written out as JSON, and a value
JSON cannot hold (bytes, sets, non-string keys) is not something kubectl wrote. Timestamps stay
strings, as in the API's JSON.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from analyzer.errors import BundleError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader without the timestamp resolver: times stay RFC 3339 strings, as in JSON."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


Objects = dict[str, list[dict[str, Any]]]
"""Objects by kind (`Pod`, `Node`, …), in the order the members list them."""


MAX_CONTAINERS = 8_000_000
"""Mappings and lists one YAML member may hold (~100 bytes of memory each, whatever the text costs)."""

Keep = Callable[[str, str | None], bool]
"""Whether to parse an item of this kind in this namespace (a List holds every kind in the cluster)."""


def load_list(bundle: Path, member: str, data: bytes, max_depth: int, keep: Keep) -> list[dict[str, Any]]:
    """The items of one `kubectl get -o yaml` member (a List, or a single object) that `keep` wants.

    kubectl writes each item as a `- ` block at column 0 under `items:`; each is parsed on its own,
    and only when its kind (and namespace) is wanted: ReplicaSets, CRDs and the cluster's other
    ConfigMaps are most of a real cluster's List and nothing ztbundle reads. Text of another shape
    is parsed whole.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(bundle, member, f"invalid UTF-8 at byte {exc.start}") from None
    # An upper bound on the mappings and lists the text can make, counted before anything is built:
    # `- {}` is 5 bytes of YAML and ~100 of memory.
    containers = sum(text.count(s) for s in ("{", "[", ":\n", "- "))
    if containers > MAX_CONTAINERS:
        raise BundleError(bundle, member, f"YAML holds more than {MAX_CONTAINERS} mappings and lists")
    blocks = _item_blocks(text)
    if blocks is None:
        doc = _parse(bundle, member, text, 0, max_depth)
        if not isinstance(doc, dict):
            raise BundleError(bundle, member, "not a Kubernetes object or List")
        items = doc.get("items") if doc.get("kind") == "List" or "items" in doc else [doc]
        if not isinstance(items, list):
            raise BundleError(bundle, member, "`items` is not a list")
        return [i for i in items if isinstance(i, dict) and keep(str(i.get("kind")), _namespace_of(i))]
    out = []
    for line, block in blocks:
        kind = _KIND.search(block)
        if kind is not None and not keep(kind.group(1), _metadata_namespace(block)):
            continue
        item = _parse(bundle, member, block, line, max_depth)
        if isinstance(item, dict):
            out.append(item)
    return out


_KIND = re.compile(r"^kind: (\S+)$", re.MULTILINE)
_METADATA = re.compile(r"^metadata:\n((?:  .*\n|\n)*)", re.MULTILINE)
_NAMESPACE = re.compile(r"^  namespace: (\S+)$", re.MULTILINE)


def _item_blocks(text: str) -> list[tuple[int, str]] | None:
    """(first line, dedented text) of each item of a kubectl List, or None for another shape."""
    head, sep, body = text.partition("\nitems:\n")
    if not sep or not body.startswith("- "):
        return None
    lines = body.split("\n")
    end = next((i for i, ln in enumerate(lines) if ln and not ln.startswith(("- ", "  "))), len(lines))
    first = head.count("\n") + 2
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    for i, ln in enumerate(lines[:end]):
        if ln.startswith("- "):
            if current:
                blocks.append((first + i - len(current), "\n".join(current) + "\n"))
            current = []
        current.append(ln[2:])
    if current:
        blocks.append((first + end - len(current), "\n".join(current) + "\n"))
    return blocks


def _metadata_namespace(block: str) -> str | None:
    meta = _METADATA.search(block)
    ns = _NAMESPACE.search(meta.group(1)) if meta else None
    return ns.group(1).strip("'\"") if ns else None


def _namespace_of(obj: dict[str, Any]) -> str | None:
    meta = obj.get("metadata")
    return str(meta.get("namespace")) if isinstance(meta, dict) and meta.get("namespace") else None


def _parse(bundle: Path, member: str, text: str, line: int, max_depth: int) -> Any:
    """One YAML document, checked; `line` is where it starts in the member (for error positions)."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader; see _Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {line + mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise BundleError(bundle, member, f"invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise BundleError(bundle, member, "YAML nested too deeply") from None
    _check_tree(bundle, member, doc, max_depth)
    return doc


def _check_tree(bundle: Path, member: str, doc: Any, max_depth: int) -> None:
    """Reject shared nodes (aliases), excess depth and values JSON cannot hold, without recursion."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if id(node) in seen:
                raise BundleError(bundle, member, "YAML aliases are not allowed (kubectl never writes them)")
            seen.add(id(node))
            if depth > max_depth:
                raise BundleError(bundle, member, f"YAML nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                if not all(isinstance(k, str) for k in node):
                    raise BundleError(bundle, member, "YAML mapping key that is not a string")
                stack.extend((v, depth + 1) for v in node.values())
            else:
                stack.extend((v, depth + 1) for v in node)
        elif not isinstance(node, str | int | float | bool) and node is not None:
            raise BundleError(bundle, member, f"YAML value of type {type(node).__name__} is not JSON")


def group(lists: Iterable[list[dict[str, Any]]]) -> Objects:
    """Objects by kind, one per (namespace, name): a pod in two members is kept once."""
    out: Objects = defaultdict(list)
    keys: set[tuple[str, str, str]] = set()
    for items in lists:
        for obj in items:
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            key = (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            if key in keys:
                continue
            keys.add(key)
            out[key[0]].append(obj)
    return dict(out)
