"""`collect --pseudonymize`: replace namespaces, pod names, node names and IPs consistently in a bundle.

A pass over the finished bundle (the whole bundle must be seen before anything is replaced, so a name
learnt from the pod list is also replaced in a log written earlier). Every member, every member path
and the manifest go through one substitution, so cross-references survive: `ztunnel/<pod>/...`,
`Kubernetes//Pod/<ns>/<name>`, `spiffe://td/ns/<ns>/sa/<sa>`, `<pod>.<ns>` proxy IDs, log lines.

- Names become `ns-<hex>`, `pod-<hex>`, `node-<hex>`: HMAC-SHA256 under a key drawn per run and never
  stored, so the same input gets the same token within a bundle and tokens cannot be brute-forced
  back from a dictionary of likely names. Well-known namespaces (`default`, `kube-system`,
  `kube-public`, `kube-node-lease`, `istio-system`) identify nobody and stay.
- IPs stay valid IPs: IPv4 into 198.18.0.0/15 (RFC 2544 benchmarking), IPv6 into 2001:db8::/32
  (documentation), numbered in order of first sight; loopback, unspecified and broadcast stay.
  istiod's proto-JSON `bytes` addresses (base64 of 4/16 raw bytes, or of the ASCII text) are
  decoded, mapped and re-encoded.
- The mapping (token → original) is written next to the bundle as `<bundle>.mapping.json` (0600),
  never inside it. The rewritten bundle is format 1 (raw members: shared objects would no longer
  share after substitution) and goes through the same leak scan before it replaces the original.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ztbundle import layout

KEEP_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "istio-system"})
V4_NET = ipaddress.IPv4Network("198.18.0.0/15")
V6_NET = ipaddress.IPv6Network("2001:db8::/32")

_IPV4 = re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9]|\.\d)")
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:])(?=[0-9a-fA-F:]*::|(?:[0-9a-fA-F]{1,4}:){7})[0-9a-fA-F:]{2,39}(?![0-9A-Za-z:])"
)
_B64 = re.compile(r'(?<=")(?:[A-Za-z0-9+/]{6}==|[A-Za-z0-9+/]{22}==|[A-Za-z0-9+/]{12,52}={0,2})(?=")')
_WORD = "A-Za-z0-9_-"


class Mapper:
    """Consistent replacements for one bundle; `mapping` is token → original, for the side file."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self.names: dict[str, str] = {}
        self.ips: dict[str, str] = {}
        self._names_re: re.Pattern[str] | None = None

    # --- learning -------------------------------------------------------------------------------

    def add_name(self, kind: str, name: str) -> None:
        if not name or name in self.names or (kind == "ns" and name in KEEP_NAMESPACES):
            return
        digest = hmac.new(self._key, f"{kind}\0{name}".encode(), hashlib.sha256).hexdigest()
        length = 8
        token = f"{kind}-{digest[:length]}"
        while token in self.names.values():  # a collision in 32 bits: lengthen, stay deterministic
            length += 2
            token = f"{kind}-{digest[:length]}"
        self.names[name] = token
        self._names_re = None

    def _ip(self, text: str) -> str:
        if text in self.ips:
            return self.ips[text]
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return text
        if ip.is_loopback or ip.is_unspecified or str(ip) == "255.255.255.255" or ip.is_link_local:
            return text
        n = len(self.ips) + 1
        mapped = str(V4_NET[n] if ip.version == 4 else V6_NET[n])
        self.ips[text] = mapped
        return mapped

    # --- replacing ------------------------------------------------------------------------------

    def _names_pattern(self) -> re.Pattern[str] | None:
        if self._names_re is None and self.names:
            alternatives = "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True))
            self._names_re = re.compile(rf"(?<![{_WORD}])(?:{alternatives})(?![{_WORD}])")
        return self._names_re

    def text(self, text: str) -> str:
        """Replace every known name and every IP (text or base64 `bytes`) in one piece of text."""
        names = self._names_pattern()
        if names is not None:
            text = names.sub(lambda m: self.names[m.group(0)], text)
        text = _IPV4.sub(lambda m: self._ip(m.group(0)), text)
        text = _IPV6.sub(lambda m: self._ip(m.group(0)), text)
        return _B64.sub(lambda m: self._b64(m.group(0)), text)

    def _b64(self, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
        if len(raw) in (4, 16):
            try:
                ip = ipaddress.ip_address(raw)
            except ValueError:
                return value
            if str(ip) not in self.ips:  # only addresses seen as text: 4 random bytes are not an IP
                return value
            return base64.b64encode(ipaddress.ip_address(self.ips[str(ip)]).packed).decode()
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return value
        if text in self.ips:
            return base64.b64encode(self.ips[text].encode()).decode()
        return value

    def mapping(self) -> dict[str, dict[str, str]]:
        return {
            "names": {token: name for name, token in sorted(self.names.items())},
            "ips": {mapped: ip for ip, mapped in sorted(self.ips.items(), key=lambda kv: kv[1])},
        }


def learn(mapper: Mapper, members: dict[str, bytes], manifest: dict[str, Any]) -> None:
    """Learn every namespace, pod and node name from the cluster lists and the manifest's sources."""
    lists = ((layout.NAMESPACES, "ns"), (layout.NODES, "node"), (layout.PODS, "pod"))
    lists += ((layout.PODS_AFTER_DUMPS, "pod"),)  # a pod created during collection is only here
    for member, kind in lists:
        for obj in _items(members.get(member)):
            meta = obj.get("metadata") or {}
            if kind == "pod":
                mapper.add_name("ns", str(meta.get("namespace") or ""))
                mapper.add_name("node", str((obj.get("spec") or {}).get("nodeName") or ""))
            mapper.add_name(kind, str(meta.get("name") or ""))
    for artifact in manifest.get("artifacts") or []:
        source = artifact.get("source") or {}
        mapper.add_name("ns", str(source.get("namespace") or ""))
        mapper.add_name("pod", str(source.get("pod") or ""))
    # IPs are learnt as they are met; a first pass over text makes base64 forms mappable anywhere.
    for data in members.values():
        mapper.text(data.decode("utf-8", "surrogateescape"))


def _items(data: bytes | None) -> Iterable[dict[str, Any]]:
    if not data:
        return []
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    items = doc.get("items") if isinstance(doc, dict) else None
    return [i for i in items or [] if isinstance(i, dict)]


def read_bundle(path: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Artifact path → bytes (recipes reassembled from shared objects), and the manifest."""
    raw: dict[str, bytes] = {}
    with tarfile.open(path, "r:gz") as tar:
        for info in tar:
            f = tar.extractfile(info) if info.isfile() else None
            if f is not None:
                raw[info.name] = f.read()
    manifest: dict[str, Any] = json.loads(raw.pop(layout.MANIFEST))
    members: dict[str, bytes] = {}
    for artifact in manifest["artifacts"]:
        if not artifact.get("stored"):
            continue
        pieces = artifact.get("pieces")
        if pieces is not None:
            members[artifact["path"]] = b"".join(raw[layout.object_member(d)] for d in pieces)
        elif artifact["path"] in raw:
            members[artifact["path"]] = raw[artifact["path"]]
    return members, manifest


def mapping_path(bundle: Path) -> Path:
    """Where the mapping of a pseudonymized bundle is kept: next to it, never inside it."""
    return bundle.with_name(bundle.name + ".mapping.json")


def rewrite(source: Path, bundle: Path, write: Callable[[Path, dict[str, bytes], bytes], None]) -> Path:
    """Write `source` pseudonymized to `bundle` through `write` (leak scan, rename); return the mapping."""
    members, manifest = read_bundle(source)
    mapper = Mapper()
    learn(mapper, members, manifest)
    out: dict[str, bytes] = {}
    for path, data in members.items():
        new_path = mapper.text(path)
        out[new_path] = mapper.text(data.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
    doc = json.loads(mapper.text(json.dumps(manifest)))
    doc["format_version"] = layout.RAW_FORMAT_VERSION
    doc.setdefault("options", {})["pseudonymized"] = True
    for artifact in doc["artifacts"]:
        artifact.pop("storage", None)
        artifact.pop("pieces", None)
        body = out.get(artifact["path"]) if artifact.get("stored") else None
        if body is not None:
            artifact["bytes"], artifact["sha256"] = len(body), hashlib.sha256(body).hexdigest()
    write(bundle, out, json.dumps(doc, indent=2).encode() + b"\n")
    side = mapping_path(bundle)
    fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(mapper.mapping(), f, indent=2)
    return side


def write_raw(bundle: Path, members: dict[str, bytes], manifest: bytes) -> None:
    """Write members and manifest as a format-1 bundle over `bundle`, through the leak scan."""
    from collector.archive import BundleWriter

    writer = BundleWriter(bundle, dedupe=False)
    for name, data in members.items():
        writer.add(name, data)
    writer.finish(layout.MANIFEST, manifest)
