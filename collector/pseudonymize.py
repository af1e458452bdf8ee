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

from collector.pseudocerts import Reissuer
from ztbundle import layout

KEEP_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "istio-system"})
# Istio's and Kubernetes' own names: they identify nobody, and the analyzer recognises components by them.
KEEP_NAMES = KEEP_NAMESPACES | frozenset(
    {
        "ztunnel", "istiod", "istio-cni", "istio-cni-node", "istio-proxy", "discovery", "install-cni",
        "waypoint", "istio-waypoint", "kubernetes", "kube-dns", "coredns",
    }
)  # fmt: skip
V4_NET = ipaddress.IPv4Network("198.18.0.0/15")
V6_NET = ipaddress.IPv6Network("2001:db8::/32")
CERTIFICATES_NOTE = (
    "certificates re-issued with pseudonymized SPIFFE IDs under throwaway CAs (one per real root or "
    "issuer); serial numbers, validity dates, states and chain shape kept; signatures are not the originals"
)

_IPV4 = re.compile(r"(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9]|\.\d)")
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:])(?=[0-9a-fA-F:]*::|(?:[0-9a-fA-F]{1,4}:){7})[0-9a-fA-F:]{2,39}(?![0-9A-Za-z:])"
)
_B64 = re.compile(r'(?<=")(?:[A-Za-z0-9+/]{6}==|[A-Za-z0-9+/]{22}==|[A-Za-z0-9+/]{12,52}={0,2})(?=")')
_B64_WHOLE = re.compile(r"[A-Za-z0-9+/]{6}==|[A-Za-z0-9+/]{22}==|[A-Za-z0-9+/]{12,52}={0,2}")
_WORD = "A-Za-z0-9_-"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"  # one DNS label
_NAME = r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?"  # a DNS subdomain
# A SPIFFE ID's path, with or without `spiffe://<trust domain>` (policy principals omit it).
_SPIFFE = re.compile(rf"(/ns/)({_LABEL})(/sa/)({_NAME})(?![a-z0-9.-])")
_UID = re.compile(rf"(?<=/)((?:Pod|Service|ServiceEntry|WorkloadEntry|Namespace|Node)/)({_LABEL})/({_NAME})")
_HOST = re.compile(rf"(?<![.{_WORD}])({_LABEL})\.({_LABEL})(\.svc)(?![A-Za-z0-9-])")
_FIELD = re.compile(
    r"(?i)((?<![a-z_.])(?:[a-z_.]{0,40})(?:namespace|workload|service|service_name|pod|node|app|account|canonical_name)"
    r"(?:_name)?\"?(?:=|\s?:\s?)\"?)(" + _NAME + r")(?=[\"\s,}&]|$)"
)
_NS_HOST = re.compile(rf"(?<![./{_WORD}])({_LABEL})/(?={_LABEL}\.{_LABEL}\.svc(?![A-Za-z0-9-]))")  # ns/host
_DOTTED = re.compile(rf"(?<![./{_WORD}])({_LABEL})\.({_LABEL})(?![.{_WORD}])")  # a proxy ID `<pod>.<ns>`
_NS_NAME = re.compile(rf"({_LABEL})/({_NAME})")  # a whole value `<ns>/<name>`

# JSON keys whose string value is a name (compared case-insensitively, `_` and `-` removed).
_NAME_KEYS = frozenset(
    {
        "name", "namespace", "nodename", "node", "serviceaccount", "serviceaccountname", "workloadname",
        "canonicalname", "podname", "pod", "workload", "service", "servicename", "app", "hostname",
        "istionamespace", "waypoint", "generatename",
    }
)  # fmt: skip
# Labels whose value is a name (a label's key, like every key, is never rewritten).
_NAME_LABELS = frozenset(
    {
        "app", "app.kubernetes.io/name", "app.kubernetes.io/instance", "service.istio.io/canonical-name",
        "k8s-app", "name", "kubernetes.io/metadata.name", "kubernetes.io/hostname", "istio.io/use-waypoint",
        "gateway.networking.k8s.io/gateway-name", "statefulset.kubernetes.io/pod-name",
    }
)  # fmt: skip
_LABEL_MAPS = frozenset({"labels", "matchlabels", "selector", "nodeselector"})


def _key_class(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


class Mapper:
    """Consistent replacements for one bundle; `mapping` is token → original, for the side file."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self.names: dict[str, str] = {}
        self.ips: dict[str, str] = {}
        self._words_re: re.Pattern[str] | None = None
        self.certs = Reissuer(self.text)

    # --- learning -------------------------------------------------------------------------------

    def add_name(self, kind: str, name: str) -> None:
        if not name or name in self.names or name in KEEP_NAMES or not re.fullmatch(_NAME, name):
            return
        digest = hmac.new(self._key, name.encode(), hashlib.sha256).hexdigest()
        length = 8
        token = f"{kind}-{digest[:length]}"
        taken = set(self.names.values())
        while token in taken:  # a collision in 32 bits: lengthen, stay deterministic
            length += 2
            token = f"{kind}-{digest[:length]}"
        self.names[name] = token
        self._words_re = None

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

    def name(self, value: str) -> str:
        """A whole name's token (or the value itself when it is not a learnt name)."""
        return self.names.get(value, value)

    def _words(self) -> re.Pattern[str] | None:
        """Learnt names distinctive enough (a `-` or a digit) to be replaced wherever they stand alone."""
        if self._words_re is None:
            words = sorted((n for n in self.names if re.search(r"[-0-9]", n)), key=len, reverse=True)
            if not words:
                return None
            alternatives = "|".join(map(re.escape, words))
            self._words_re = re.compile(rf"(?<![{_WORD}])(?:{alternatives})(?![{_WORD}])")
        return self._words_re

    def structured(self, text: str) -> str:
        """Names in the forms that say what they are (SPIFFE IDs, UIDs, service hosts), and IPs."""
        if self.names:
            text = _SPIFFE.sub(lambda m: m[1] + self.name(m[2]) + m[3] + self.name(m[4]), text)
            text = _UID.sub(lambda m: m[1] + self.name(m[2]) + "/" + self.name(m[3]), text)
            text = _NS_HOST.sub(lambda m: self.name(m[1]) + "/", text)
            text = _DOTTED.sub(self._dotted, text)
            text = _HOST.sub(lambda m: self.name(m[1]) + "." + self.name(m[2]) + m[3], text)
        text = _IPV4.sub(lambda m: self._ip(m.group(0)), text)
        text = _IPV6.sub(lambda m: self._ip(m.group(0)), text)
        return _B64.sub(lambda m: self._b64(m.group(0)), text)

    def _dotted(self, m: re.Match[str]) -> str:
        pod, ns = m[1], m[2]
        if pod in self.names and (ns in self.names or ns in KEEP_NAMESPACES):
            return f"{self.names[pod]}.{self.name(ns)}"
        return m[0]

    def text(self, text: str) -> str:
        """Replace names and IPs in free text: structured forms, name fields, distinctive names."""
        text = self.structured(text)
        if not self.names:
            return text
        text = _FIELD.sub(lambda m: m[1] + self.name(m[2]), text)
        words = self._words()
        return words.sub(lambda m: self.names[m.group(0)], text) if words is not None else text

    def value(self, value: str, key: str, parent: str) -> str:
        """A JSON string value: whole names in name fields and name labels, then as free text."""
        name_field = _key_class(key) in _NAME_KEYS or (parent in _LABEL_MAPS and key in _NAME_LABELS)
        if value in self.names and name_field:
            return self.names[value]
        ns_name = _NS_NAME.fullmatch(value)
        if ns_name and ns_name[1] in self.names:
            return f"{self.names[ns_name[1]]}/{self.text(self.name(ns_name[2]))}"
        if _key_class(key) == "generatename":
            stem = value.rstrip("-")
            for cut in range(len(stem), 0, -1):
                if stem[:cut] in self.names and (cut == len(stem) or stem[cut] == "-"):
                    return self.names[stem[:cut]] + value[cut:]
        if key == "pem":
            return self.certs.pem(value)  # base64 or PEM text: nothing in it is a name to substitute
        if _B64_WHOLE.fullmatch(value) and (address := self._b64(value)) != value:
            return address  # istiod's proto-JSON `bytes` of an address
        return self.text(value)

    def document(self, node: Any, key: str = "", parent: str = "") -> Any:
        """A parsed JSON document with names replaced in values; keys only in their structured forms."""
        if isinstance(node, str):
            return self.value(node, key, parent)
        if isinstance(node, list):
            return [self.document(v, key, parent) for v in node]
        if isinstance(node, dict):
            here = _key_class(key)
            return {self.structured(k): self.document(v, k, here) for k, v in node.items()}
        return node

    def path(self, path: str) -> str:
        """A member path with the segments that are names replaced; folders and file names stay."""
        parts = path.split("/")
        for i in range(1, len(parts)):
            last = i == len(parts) - 1
            if last and parts[i - 1] == "proxy":
                stem, dot, rest = parts[i].partition(".")
                parts[i] = self.name(stem) + dot + rest
            elif not last and parts[i] not in ("logs", "proxy"):
                parts[i] = self.name(parts[i])
        return "/".join(parts)

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
