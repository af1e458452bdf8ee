"""Hostile istioctl-bug-report-shaped inputs: archives and extracted directories the reader must refuse.

Each archive is a small benign bug-report (`benign()`, which `analyze` accepts) with one thing
changed, assembled header by header like `tests.hostile.corpus`; each directory attack plants one
link or special file in an extracted bug-report. Every one is rejected with one line and exit 3.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.hostile.corpus import Attack, Entry, MiB, _gz, _raw_tar, _reg, _streamed_zeros

P = "bug-report/"
DUMP = "proxies/istio-system/ztunnel-a/config_dump"
LOG = "proxies/istio-system/ztunnel-a/istio-proxy.log"
RESOURCES = "cluster/k8s-resources"

_POD = """\
apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    labels:
      app: ztunnel
    name: ztunnel-a
    namespace: istio-system
    uid: 6f1c2a9e-0000-4000-8000-000000000001
  spec:
    containers:
    - name: istio-proxy
    nodeName: node-a
  status:
    conditions:
    - status: "True"
      type: Ready
    containerStatuses:
    - name: istio-proxy
      ready: true
      restartCount: 0
      state:
        running:
          startedAt: "2026-01-01T10:00:00Z"
    phase: Running
kind: List
metadata:
  resourceVersion: ""
"""

BASE: dict[str, bytes] = {
    "versions": b'CLI version:\nversion.BuildInfo{Version:"1.26.2", GitRevision:"4f7e3c2a"}\n',
    "bug-report.log": b"2026-01-01T12:00:00.000000Z\tinfo\tbug-report\tCreating an archive\n",
    RESOURCES: _POD.encode(),
    DUMP: b'{\n  "workloads": [],\n  "services": [],\n  "policies": [],\n  "certificates": []\n}\n',
    LOG: b"2026-01-01T11:59:00.000000Z\tinfo\tztunnel\tstarted\n",
}


def archive(members: dict[str, bytes] | None = None, *, extra: tuple[Entry, ...] = ()) -> bytes:
    """A gzipped bug-report with the `bug-report/` prefix: `members` (default BASE) then `extra`."""
    members = BASE if members is None else members
    return _gz(_raw_tar([_reg(P + n, b) for n, b in members.items()] + list(extra)))


def benign() -> bytes:
    return archive()


def _without(name: str) -> dict[str, bytes]:
    return {n: b for n, b in BASE.items() if n != name}


def _special(name: str, kind: bytes, **attrs: str) -> Entry:
    return (P + name, kind, b"", attrs)


def _alias_bomb() -> bytes:
    """Billion laughs: nine levels of ten aliases, ~10^9 nodes once written out as JSON."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join(f'*a{i - 1}' for _ in range(10))}]" for i in range(1, 10)]
    return ("\n".join(lines) + "\nkind: List\nitems: []\n").encode()


ATTACKS: tuple[Attack, ...] = (
    Attack(
        "br-config-dump-symlink",
        P + DUMP,
        r"symbolic link members are not allowed",
        lambda: archive(_without(DUMP), extra=(_special(DUMP, tarfile.SYMTYPE, linkname="/etc/shadow"),)),
    ),
    Attack(
        "br-config-dump-hardlink",
        P + DUMP,
        r"hard link members are not allowed",
        lambda: archive(_without(DUMP), extra=(_special(DUMP, tarfile.LNKTYPE, linkname="etc/passwd"),)),
    ),
    Attack(
        "br-dotdot",
        P + "proxies/../../../etc/cron.d/evil",
        r"unsafe member name \('\.\.', '\.' or empty path segment\)",
        lambda: archive(extra=(_reg(P + "proxies/../../../etc/cron.d/evil", b"* * * * * root id\n"),)),
    ),
    Attack(
        "br-absolute",
        "/bug-report/versions",
        r"unsafe member name \(absolute or malformed path\)",
        lambda: archive(extra=(_reg("/bug-report/versions", b"x\n"),)),
    ),
    Attack(
        "br-ratio-bomb",
        P + LOG,
        r"compression ratio over 200:1 \(possible decompression bomb\)",
        lambda: _streamed_zeros(P + LOG, 20 * MiB, {P + n: b for n, b in _without(LOG).items()}),
        doc="20 MiB of zeros as a ztunnel log: over the 16 MiB floor and 200:1",
    ),
    Attack(
        "br-yaml-alias-bomb",
        P + RESOURCES,
        r"YAML aliases are not allowed \(kubectl never writes them\)",
        lambda: archive(dict(BASE, **{RESOURCES: _alias_bomb()})),
    ),
    Attack(
        "br-yaml-deep",
        P + RESOURCES,
        r"YAML nested deeper than 64 levels",
        lambda: archive(dict(BASE, **{RESOURCES: b"items: " + b"[" * 100 + b"]" * 100 + b"\n"})),
    ),
    Attack(
        "br-yaml-invalid-utf8",
        P + RESOURCES,
        r"invalid UTF-8 at byte 6",
        lambda: archive(dict(BASE, **{RESOURCES: b"items:\xff\n"})),
    ),
    Attack(
        "br-deep-json-config-dump",
        "ztunnel/ztunnel-a/config_dump.json",  # parse errors name the member as presented (logical path)
        r"JSON nested deeper than 64 levels",
        lambda: archive(dict(BASE, **{DUMP: b'{"workloads": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"})),
        content=True,
    ),
    Attack(
        "br-pod-name-not-dns",
        P + "proxies/istio-system/Evil_Pod/config_dump",
        r"pod or namespace name is not a DNS-1123 label",
        lambda: archive(extra=(_reg(P + "proxies/istio-system/Evil_Pod/config_dump", BASE[DUMP]),)),
    ),
)
"""`member` is as the error names it. `content=True`: the archive opens (its YAML and names are laid
out when opened) and only parsing rejects it, so `extract` and `convert` copy it as stored."""


@dataclass(frozen=True, slots=True)
class DirAttack:
    """An extracted bug-report with one planted link or special file, and the line that refuses it."""

    name: str
    member: str  # relative to the directory given to ztbundle
    problem: str
    plant: Callable[[Path], None]


def write_dir(root: Path) -> Path:
    """The benign bug-report extracted under `root` (as `tar xzf` leaves it); returns `root`."""
    for name, data in BASE.items():
        path = root / "bug-report" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _replace_with_link(root: Path, member: str, target: str) -> None:
    path = root / member
    if path.is_dir():
        for child in sorted(path.rglob("*"), reverse=True):
            child.rmdir() if child.is_dir() else child.unlink()
        path.rmdir()
    else:
        path.unlink()
    path.symlink_to(target)


DIR_ATTACKS: tuple[DirAttack, ...] = (
    DirAttack(
        "dir-config-dump-links-outside",
        P + DUMP,
        r"symbolic link members are not allowed",
        lambda root: _replace_with_link(root, P + DUMP, "/etc/passwd"),
    ),
    DirAttack(
        "dir-folder-links-outside",
        P + "proxies",
        r"symbolic link members are not allowed",
        lambda root: _replace_with_link(root, P + "proxies", "/etc"),
    ),
    DirAttack(
        "dir-hardlink",
        P + LOG.replace("istio-proxy.log", "copy"),
        r"hard link members are not allowed",
        lambda root: os.link(root / P / "versions", root / P / LOG.replace("istio-proxy.log", "copy")),
    ),
    DirAttack(
        "dir-fifo",
        P + "cluster/events",
        r"only regular files are allowed",
        lambda root: os.mkfifo(root / P / "cluster/events"),
    ),
)
