"""Cluster names and IPs to stable pseudonyms: the `Mapper` that `collector.pseudonymize` learns a
bundle's names into and rewrites every member with.

Each distinct name gets one token (`ns-<hex>`, `pod-<hex>`, …: HMAC-SHA256 under a key drawn per run and
never stored); IPs stay valid IPs, in ranges reserved for documentation and benchmarks, numbered in
order of first sight. Names are replaced where a name's place is known (a name field, a path segment,
a structured form such as `spiffe://…/ns/<ns>/sa/<sa>`); in text, also as words distinctive enough to be
only names (`collector.pseudonymize` lists where).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import secrets
from typing import Any

from collector.pseudocerts import Reissuer

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
