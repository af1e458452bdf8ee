"""Helpers for collector tests: run the real CLI in-process and read back what it wrote."""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from tests.fakecluster import FakeCluster
from ztbundle import layout
from ztbundle.cli import main


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    out: Path
    manifest: dict[str, Any]
    members: dict[str, bytes]  # by logical path: format-2 recipes rebuilt from their objects
    names: list[str]  # archive order (format 2: including objects/<sha256>)
    objects: dict[str, bytes] = field(default_factory=dict)  # format 2: objects/<sha256> members

    def artifact(self, path: str) -> dict[str, Any]:
        return next(a for a in self.manifest["artifacts"] if a["path"] == path)

    def not_ok(self) -> dict[str, dict[str, Any]]:
        return {a["path"]: a for a in self.manifest["artifacts"] if a["status"] != "ok"}


def read_bundle(out: Path) -> tuple[dict[str, Any], dict[str, bytes], list[str]]:
    members: dict[str, bytes] = {}
    names: list[str] = []
    with tarfile.open(out, "r:gz") as tar:
        for info in tar:
            assert info.isfile(), info.name
            f = tar.extractfile(info)
            assert f is not None
            members[info.name] = f.read()
            names.append(info.name)
    manifest = json.loads(members[layout.MANIFEST])
    jsonschema.validate(manifest, layout.manifest_schema())
    return manifest, members, names


def logical(manifest: dict[str, Any], members: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Members by logical path (format-2 recipes rebuilt from their objects), and the objects apart."""
    logical = {n: b for n, b in members.items() if not layout.parse_object_member(n)}
    objects = {n: b for n, b in members.items() if layout.parse_object_member(n)}
    for a in manifest.get("artifacts", ()):
        if a.get("storage") == layout.Storage.RECIPE:
            logical[a["path"]] = b"".join(objects[layout.object_member(d)] for d in a["pieces"])
    return logical, objects


def collect(cluster: FakeCluster, tmp: Path, *extra: str, context: str | None = None) -> Run:
    out = tmp / "bundle.tar.gz"
    code = main(
        [
            "collect",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--context",
            context or cluster.context,
            "--out-file",
            str(out),
            "--timeout",
            "2",
            "--quiet",
            *extra,
        ]
    )
    manifest, members, names = read_bundle(out) if out.exists() else ({}, {}, [])
    members, objects = logical(manifest, members)
    return Run(code, out, manifest, members, names, objects)


def assert_members_match_manifest(run: Run) -> None:
    """Every stored artifact is a member with the recorded size and digest, and nothing else is."""
    stored = {a["path"]: a for a in run.manifest["artifacts"] if a["stored"]}
    assert set(run.members) == set(stored) | {layout.MANIFEST}
    assert run.names[-1] == layout.MANIFEST and len(run.names) == len(set(run.names))
    for path, a in stored.items():
        body = run.members[path]
        assert a["bytes"] == len(body), path
        assert a["sha256"] == hashlib.sha256(body).hexdigest(), path
    used = {layout.object_member(d) for a in stored.values() for d in a.get("pieces", ())}
    assert set(run.objects) == used  # format 2: every object is used, none is missing
