"""Errors the CLI reports as one line (`ztbundle: error: <where>: <what>`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ztbundle.exits import Exit


class ZtbundleError(Exception):
    """Base for errors the CLI prints as one line and turns into an exit code."""

    exit_code: ClassVar[Exit] = Exit.BAD_INPUT


class UsageError(ZtbundleError):
    exit_code = Exit.USAGE


class BundleError(ZtbundleError):
    """A bundle that cannot be read safely; names the bundle and, when known, the member."""

    exit_code = Exit.BAD_INPUT

    def __init__(self, bundle: Path | str, member: str | None, problem: str) -> None:
        self.bundle = str(bundle)
        self.member = member
        self.problem = problem
        super().__init__(f"{bundle}:{member}: {problem}" if member else f"{bundle}: {problem}")


class ClusterError(ZtbundleError):
    """Nothing could be collected: unreachable cluster, bad credentials, no Istio found."""

    exit_code = Exit.NOTHING_COLLECTED
