"""`collect --pseudonymize`: replace cluster names and IPs consistently in a bundle, by structure.

A pass over the finished bundle (the whole bundle must be seen before anything is replaced, so a name
learnt from the pod list is also replaced in a log written earlier). Names are replaced where the
bundle's structure says a name is, never as bare words that may be something else: a namespace named
`app`, `logs` or `config` leaves the `app` label key, the `logs/` folder and the `config` key alone.

- Learnt names: namespaces, pods, nodes, service accounts, services and workloads (Deployment,
  canonical and `app` names), from the cluster lists and ztunnel's dumps. Each distinct name gets one
  token (`ns-<hex>`, `pod-<hex>`, …: HMAC-SHA256 under a key drawn per run and never stored), so a
  service and a workload of the same name stay equal. Well-known namespaces and Istio's own component
  names identify nobody and stay.
- Where: member paths segment by segment (`ztunnel/<pod>/…`, `waypoint/<ns>/<pod>/…`); in JSON, values
  of name fields (`name`, `namespace`, `nodeName`, `serviceAccount`, name labels, …) and, in any value
  or key, the structured forms `spiffe://td/ns/<ns>/sa/<sa>`, `…//Pod/<ns>/<name>`,
  `<svc>.<ns>.svc`, `<ns>/<name>`; in text (logs, metrics), the same structured forms, `key=value`
  fields whose key names a namespace, workload, service, pod or node, and names distinctive enough
  to be only names (with a `-` or a digit: pod, node, most workload names).
- IPs stay valid IPs: IPv4 into 198.18.0.0/15 (RFC 2544 benchmarking), IPv6 into 2001:db8::/32
  (documentation), numbered in order of first sight; loopback, unspecified and broadcast stay.
  istiod's proto-JSON `bytes` addresses (base64 of 4/16 raw bytes, or of the ASCII text) are
  decoded, mapped and re-encoded.
- Certificates are re-issued with pseudonymized SPIFFE IDs (`collector.pseudocerts`); the manifest
  says so. The kubeconfig context and path are dropped from the manifest.
- The mapping (token → original) is written next to the bundle as `<bundle>.mapping.json` (0600),
  never inside it. The rewritten bundle is format 1 (raw members: shared objects would no longer
  share after substitution) and goes through the same leak scan before it replaces the original.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from collector.pseudonyms import Mapper
from ztbundle import layout

CERTIFICATES_NOTE = (
    "certificates re-issued with pseudonymized SPIFFE IDs under throwaway CAs (one per real root or "
    "issuer); serial numbers, validity dates, states and chain shape kept; signatures are not the originals"
)


def learn(mapper: Mapper, members: dict[str, bytes], manifest: dict[str, Any]) -> None:
    """Learn every name the bundle's lists and dumps give, certificates, and IPs met as text."""
    lists = ((layout.NAMESPACES, "ns"), (layout.NODES, "node"), (layout.PODS, "pod"))
    lists += ((layout.PODS_AFTER_DUMPS, "pod"),)  # a pod created during collection is only here
    for member, kind in lists:
        for obj in _items(members.get(member)):
            meta = obj.get("metadata") or {}
            if kind == "pod":
                spec = obj.get("spec") or {}
                mapper.add_name("ns", str(meta.get("namespace") or ""))
                mapper.add_name("node", str(spec.get("nodeName") or ""))
            mapper.add_name(kind, str(meta.get("name") or ""))
    for obj in _items(members.get(layout.PODS)):
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        mapper.add_name("sa", str(spec.get("serviceAccountName") or ""))
        for label in ("app", "app.kubernetes.io/name", "service.istio.io/canonical-name"):
            mapper.add_name("wl", str((meta.get("labels") or {}).get(label) or ""))
        for owner in meta.get("ownerReferences") or []:
            name = str(owner.get("name") or "")
            mapper.add_name("wl", name.rsplit("-", 1)[0] if owner.get("kind") == "ReplicaSet" else name)
            mapper.add_name("wl", name)
    for obj in _items(members.get(layout.SERVICES)):
        meta = obj.get("metadata") or {}
        mapper.add_name("ns", str(meta.get("namespace") or ""))
        mapper.add_name("svc", str(meta.get("name") or ""))
    for path, data in members.items():
        if layout.parse_ztunnel_config_dump(path):
            _learn_dump(mapper, data)
    for artifact in manifest.get("artifacts") or []:
        source = artifact.get("source") or {}
        mapper.add_name("ns", str(source.get("namespace") or ""))
        mapper.add_name("pod", str(source.get("pod") or ""))
    for data in members.values():
        text = data.decode("utf-8", "surrogateescape")
        mapper.structured(text)  # IPs are numbered in order of first sight, base64 forms after
        if "CERTIFICATE" in text or "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS" in text:
            for m in re.finditer(r'"pem"\s*:\s*"([^"]+)"', text):
                mapper.certs.learn(m.group(1))


def _learn_dump(mapper: Mapper, data: bytes) -> None:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return
    if not isinstance(doc, dict):
        return
    workloads = doc.get("workloads")
    for w in workloads.values() if isinstance(workloads, dict) else workloads or []:
        if isinstance(w, dict):
            mapper.add_name("ns", str(w.get("namespace") or ""))
            mapper.add_name("sa", str(w.get("serviceAccount") or ""))
            mapper.add_name("wl", str(w.get("workloadName") or ""))
            mapper.add_name("wl", str(w.get("canonicalName") or ""))
    services = doc.get("services")
    for s in services.values() if isinstance(services, dict) else services or []:
        if isinstance(s, dict):
            mapper.add_name("ns", str(s.get("namespace") or ""))
            mapper.add_name("svc", str(s.get("name") or ""))


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


def _member(mapper: Mapper, path: str, data: bytes) -> bytes:
    """One member rewritten: JSON by structure (in its received layout), anything else as text."""
    if path.endswith(".json"):
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            doc = None
        if doc is not None:
            pretty = data.lstrip()[:2] in (b"{\n", b"[\n")
            text = json.dumps(mapper.document(doc), indent=2 if pretty else None, ensure_ascii=False)
            if not pretty:
                text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
            return text.encode() + (b"\n" if data.endswith(b"\n") else b"")
    return mapper.text(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


_DROPPED_FLAGS = frozenset({"--kubeconfig", "--context", "--out", "-o"})


def _manifest(mapper: Mapper, manifest: dict[str, Any], out: dict[str, bytes]) -> dict[str, Any]:
    """The manifest rewritten: paths and names mapped, context and kubeconfig dropped, certificates noted."""
    doc: dict[str, Any] = mapper.document(manifest)
    doc["format_version"] = layout.RAW_FORMAT_VERSION
    doc["context"] = None
    options = doc.setdefault("options", {})
    for key in ("kubeconfig", "context", "out"):
        if key in options:
            options[key] = None
    options["pseudonymized"] = True
    if mapper.certs.count:
        options["pseudonymized_certificates"] = CERTIFICATES_NOTE
    doc["command"] = _without_local_paths([str(c) for c in doc.get("command") or []])
    for artifact, real in zip(doc["artifacts"], manifest["artifacts"], strict=True):
        artifact["path"] = mapper.path(str(real["path"]))
        if "shared_from" in real:
            artifact["shared_from"] = mapper.path(str(real["shared_from"]))
        artifact.pop("storage", None)
        artifact.pop("pieces", None)
        body = out.get(artifact["path"]) if artifact.get("stored") else None
        if body is not None:
            artifact["bytes"], artifact["sha256"] = len(body), hashlib.sha256(body).hexdigest()
    for section in ("redactions", "trims"):
        for record, real in zip(doc.get(section) or [], manifest.get(section) or [], strict=True):
            record["artifact"] = mapper.path(str(real["artifact"]))
    return doc


def _without_local_paths(command: list[str]) -> list[str]:
    """The recorded command without the kubeconfig, context and output path (flag and value)."""
    kept: list[str] = []
    value_of_dropped = False
    for arg in command:
        if value_of_dropped:
            value_of_dropped = False
        elif arg in _DROPPED_FLAGS:
            value_of_dropped = True
        elif not arg.startswith(tuple(f"{flag}=" for flag in _DROPPED_FLAGS)):
            kept.append(arg)
    return kept


def rewrite(source: Path, bundle: Path, write: Callable[[Path, dict[str, bytes], bytes], None]) -> Path:
    """Write `source` pseudonymized to `bundle` through `write` (leak scan, rename); return the mapping."""
    members, manifest = read_bundle(source)
    mapper = Mapper()
    learn(mapper, members, manifest)
    out = {mapper.path(path): _member(mapper, path, data) for path, data in members.items()}
    doc = _manifest(mapper, manifest, out)
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
