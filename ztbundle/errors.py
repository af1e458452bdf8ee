"""Errors the CLI reports as one line (`ztbundle: error: <where>: <what>`)."""

from __future__ import annotations

from typing import ClassVar

from ztbundle.exits import Exit


class ZtbundleError(Exception):
    """Base for errors the CLI prints as one line and turns into an exit code."""

    exit_code: ClassVar[Exit] = Exit.BAD_INPUT


class UsageError(ZtbundleError):
    exit_code = Exit.USAGE


class ClusterError(ZtbundleError):
    """Nothing could be collected: unreachable cluster, bad credentials, no Istio found."""

    exit_code = Exit.NOTHING_COLLECTED


class OutputClosed(ZtbundleError):
    """Standard output was closed by the command reading it, before all of it was written."""

    exit_code = Exit.OUTPUT_CLOSED
