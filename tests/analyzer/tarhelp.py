"""Write small bundles (and hostile tars) for analyzer tests; manifests follow ztbundle.layout."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ztbundle import layout
from ztbundle.layout import Input

T0 = "2026-01-01T12:00:00Z"


def _input_of(path: str) -> Input:
    lists = {v: k for k, v in layout.CLUSTER_LISTS.items()} | {v: k for k, v in layout.CONFIG_PATHS.items()}
    lists |= {
        layout.ISTIO_DEPLOYMENTS: Input.ISTIO_DEPLOYMENTS,
        layout.ISTIO_DAEMONSETS: Input.ISTIO_DAEMONSETS,
    }
    if path in lists:
        return lists[path]
    if path.startswith("ztunnel/"):
        return (
            Input.ZTUNNEL_LOGS
            if "/logs/" in path
            else (Input.ZTUNNEL_METRICS if path.endswith("metrics.txt") else Input.ZTUNNEL_CONFIG)
        )
    if path.startswith("istiod/"):
        for suffix, inp in (
            ("ambientz.json", Input.ISTIOD_AMBIENTZ),
            ("syncz.json", Input.ISTIOD_SYNCZ),
            ("connections.json", Input.ISTIOD_CONNECTIONS),
            ("version.json", Input.ISTIOD_VERSION),
            (".wads.json", Input.ISTIOD_PROXY_POLICIES),
        ):
            if path.endswith(suffix):
                return inp
        return Input.ISTIOD_LOGS if "/logs/" in path else Input.ISTIOD_PROXY_CONFIG
    if path.startswith("cni/"):
        return Input.CNI_LOGS
    if path.startswith("waypoint/"):
        return Input.WAYPOINT_LOGS
    return Input.TOOL_LOG


def manifest(
    members: Mapping[str, bytes],
    failed: Mapping[str, tuple[str, str]] | None = None,
    at: str = T0,
    **overrides: Any,
) -> dict[str, Any]:
    """A schema-valid manifest listing `members` as ok and `failed` paths as (status, error), not stored.

    `at` is the collection time of every artifact and of the run (RFC 3339).
    """
    arts = [
        {
            "path": p,
            "input": _input_of(p).value,
            "source": {"kind": "local"},
            "status": "ok",
            "error": None,
            "stored": True,
            "bytes": len(b),
            "sha256": hashlib.sha256(b).hexdigest(),
            "started_at": at,
            "finished_at": at,
        }
        for p, b in members.items()
    ]
    for p, (status, error) in (failed or {}).items():
        arts.append(
            {
                "path": p,
                "input": _input_of(p).value,
                "source": {"kind": "local"},
                "status": status,
                "error": error,
                "stored": False,
                "bytes": 0,
                "sha256": None,
                "started_at": at,
                "finished_at": at,
            }
        )
    doc = {
        "format_version": 1,
        "tool": {"name": "ztbundle", "version": "0.1.0"},
        "command": ["collect"],
        "started_at": at,
        "finished_at": at,
        "context": "test",
        "server_version": "v1.30.0",
        "istio_namespace": "istio-system",
        "istio_versions": ["1.26.2"],
        "complete": not failed,
        "interrupted": False,
        "artifacts": arts,
        "redactions": [],
        "trims": [],
    }
    doc.update(overrides)
    return doc


def tar_bytes(entries: Iterable[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file_info(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def write_bundle(
    path: Path,
    members: Mapping[str, bytes],
    *,
    failed: Mapping[str, tuple[str, str]] | None = None,
    extra: Iterable[tuple[tarfile.TarInfo, bytes | None]] = (),
    manifest_doc: Any = None,
    at: str = T0,
) -> Path:
    """A bundle with these members plus a matching manifest (or `manifest_doc` verbatim)."""
    doc = manifest(members, failed, at) if manifest_doc is None else manifest_doc
    entries = [file_info(n, b) for n, b in members.items()]
    entries += list(extra)
    entries.append(file_info(layout.MANIFEST, json.dumps(doc).encode()))
    path.write_bytes(tar_bytes(entries))
    return path


def jbytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=2).encode()


def gzip_only(data: bytes) -> bytes:
    return gzip.compress(data)
