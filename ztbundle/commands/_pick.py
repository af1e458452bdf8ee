"""Check the names a view is given (--ztunnel, --node, --namespace) against the bundle before using them.

A typo is a usage error (exit 2) listing the valid names closest first, never "unreadable bundle".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ztbundle.commands._args import unknown_name
from ztbundle.errors import UsageError

if TYPE_CHECKING:
    from analyzer.model import Ztunnel
    from analyzer.views.source import Source


def check_ztunnel(src: Source, name: str | None) -> None:
    """Raise UsageError when `--ztunnel NAME` is not a ztunnel pod in the bundle."""
    names = {z.name for z in src.index.ztunnels}
    if name and name not in names:
        what = "ztunnel pod in the bundle"
        raise UsageError(f"{src.path}: {unknown_name('--ztunnel', name, names, what)}")


def check_node(src: Source, node: str | None) -> None:
    """Raise UsageError when `--node NODE` runs no ztunnel in the bundle."""
    nodes = {z.node for z in src.index.ztunnels if z.node}
    if node and node not in nodes:
        what = "node with a ztunnel in the bundle"
        raise UsageError(f"{src.path}: {unknown_name('--node', node, nodes, what)}")


def check_namespace(src: Source, namespace: str | None, seen: set[str]) -> None:
    """Raise UsageError when `--namespace NS` is neither a cluster namespace nor one the dump shows."""
    known = set(src.index.namespaces) | {p.namespace for p in src.index.pods} | seen
    if namespace and namespace not in known:
        what = "namespace in the bundle"
        raise UsageError(f"{src.path}: {unknown_name('--namespace', namespace, known, what)}")


def ztunnel(
    src: Source, name: str | None = None, node: str | None = None, *, parsed: bool = False
) -> tuple[Ztunnel, str]:
    """The ztunnel a view shows (see `Source.ztunnel`), after checking the names it was given."""
    check_ztunnel(src, name)
    check_node(src, node)
    return src.ztunnel(name, node, parsed=parsed)
