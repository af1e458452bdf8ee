"""ztunnel, waypoint, istiod and istio-cni members of a bug-report, at ztbundle's logical paths.

istioctl keys pods by namespace (`proxies/<ns>/<pod>/`); ztbundle's layout keys ztunnels, istiods
and istio-cni pods by pod name alone, as pod names are unique per DaemonSet/Deployment in practice.
A second pod with a name already taken is reported in the manifest's errors, not presented.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from analyzer.bugreport import kube
from analyzer.bugreport.out import REASON, SOURCE_FORMAT, Meta, Out
from analyzer.errors import BundleError
from ztbundle import layout
from ztbundle.layout import Component, Input

# getLog in istio's tools/bug-report/pkg/bugreport/bugreport.go: when the container restarted,
# the current log is wrapped as PRESENT + current + PREVIOUS + previous log.
PRESENT = "========= Previous log present (appended at the end) =========\n\n"
PREVIOUS = "\n\n========= Previous log =========\n\n"

# inject.IgnoredNamespaces in istio's pkg/kube/inject/initializer.go: bug-report's default --exclude.
SKIPPED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "local-path-storage"})

_ENVOY_DUMP = re.compile(rb'^\s*\{\s*"configs"\s*:')
_PROXY = re.compile(r"^proxies/([^/]+)/([^/]+)/(config_dump|istio-proxy\.log)$")
_ISTIOD = re.compile(
    r"^istio/([^/]+)/([^/]+)/(debug/ambientz|debug/syncz|debug/adsz|discovery\.log|metrics)$"
)
_CNI = re.compile(r"^cni/([^/]+)/cni\.log$")
_BUILD_TAG = re.compile(rb'^istio_build\{[^}]*component="pilot"[^}]*tag="([^"]+)"', re.MULTILINE)
_WAYPOINT = ("gateway.istio.io/managed", "istio.io-mesh-controller")


def split_previous(text: bytes) -> tuple[bytes, bytes]:
    """(current, previous) container log of an istioctl log member; previous is empty if none."""
    present, previous = PRESENT.encode(), PREVIOUS.encode()
    if not text.startswith(present) or previous not in text:
        return text, b""
    current, _, older = text[len(present) :].partition(previous)
    return current, older


def _labels(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return (pod.get("metadata") or {}).get("labels") or {}


def _pods(objects: kube.Objects) -> dict[tuple[str, str], Mapping[str, Any]]:
    out = {}
    for pod in objects.get("Pod", ()):
        meta = pod.get("metadata") or {}
        out[(str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = pod
    return out


def _container(pod: Mapping[str, Any] | None, default: str) -> str:
    containers = ((pod or {}).get("spec") or {}).get("containers") or []
    name = containers[0].get("name") if containers and isinstance(containers[0], Mapping) else None
    return str(name or default)


def _path(out: Out, member: str, build: Any, *args: Any, **kwargs: Any) -> str:
    try:
        path: str = build(*args, **kwargs)
    except ValueError:
        raise BundleError(out.path, member, "pod or namespace name is not a DNS-1123 label") from None
    return path


def _log(out: Out, member: str, data: bytes, component: Component, ns: str, pod: str, container: str) -> None:
    """One istioctl log member → the current and (if any) previous container log members."""
    for previous, body in zip((False, True), split_previous(data), strict=True):
        if body.strip():  # istioctl never writes an empty file; neither half is kept empty either
            logical = _path(out, member, layout.pod_log, component, ns, pod, container, previous=previous)
            what = f"{member} (previous container)" if previous else member
            out.ok(logical, layout.LOG_INPUTS[component], body, what)


def _proxies(
    out: Out, members: Mapping[str, bytes], pods: Mapping[tuple[str, str], Mapping[str, Any]]
) -> set[str]:
    """ztunnel dumps and logs, waypoint logs; returns the ztunnels that have a dump."""
    dumped: set[str] = set()
    for member in sorted(members):
        m = _PROXY.match(member)
        if not m:
            continue
        ns, name, what = m.groups()
        pod = pods.get((ns, name))
        labels = _labels(pod) if pod else {}
        shaped = not _ENVOY_DUMP.match(members.get(f"proxies/{ns}/{name}/config_dump", b"{}")[:4096])
        ztunnel = (
            labels.get("app") == "ztunnel" if pod is not None else shaped and _has_dump(members, ns, name)
        )
        if what == "config_dump":
            if ztunnel and shaped:  # else an Envoy's (gateway, waypoint) dump: not one of ztbundle's inputs
                logical = _path(out, member, layout.ztunnel_config_dump, name)
                out.ok(logical, Input.ZTUNNEL_CONFIG, members[member], member)
                dumped.add(name)
        elif ztunnel:
            _log(out, member, members[member], Component.ZTUNNEL, ns, name, "istio-proxy")
        elif labels.get(_WAYPOINT[0]) == _WAYPOINT[1]:
            _log(out, member, members[member], Component.WAYPOINT, ns, name, "istio-proxy")
    return dumped


def _has_dump(members: Mapping[str, bytes], ns: str, name: str) -> bool:
    return f"proxies/{ns}/{name}/config_dump" in members


def _missing_ztunnels(out: Out, pods: Mapping[tuple[str, str], Mapping[str, Any]], dumped: set[str]) -> None:
    """ztunnel pods the archive has no dump for: listed as skipped, named in the run's errors."""
    by_ns: dict[str, list[str]] = {}
    for (ns, name), pod in sorted(pods.items()):
        if _labels(pod).get("app") != "ztunnel" or name in dumped:
            continue
        why = (
            f"{REASON}: istioctl bug-report skips namespace {ns} unless --include names it"
            if ns in SKIPPED_NAMESPACES
            else f"{REASON} (excluded by --include/--exclude, or istioctl could not fetch it)"
        )
        try:
            out.absent(layout.ztunnel_config_dump(name), Input.ZTUNNEL_CONFIG, why)
        except ValueError:
            continue
        by_ns.setdefault(ns, []).append(name)
    for ns, zts in sorted(by_ns.items()):
        skipped = " (istioctl skips it by default)" if ns in SKIPPED_NAMESPACES else ""
        shown = ", ".join(zts[:5]) + (f", +{len(zts) - 5} more" if len(zts) > 5 else "")
        out.errors.append(
            f"{SOURCE_FORMAT}: {len(zts)} ztunnel pod(s) in namespace {ns}{skipped} have no config_dump "
            f"or logs in the archive: {shown}"
        )


def _istiods(out: Out, members: Mapping[str, bytes], meta: Meta) -> list[str]:
    """istiod's debug endpoints and log; returns the istiod pod names."""
    found: dict[str, dict[str, str]] = {}
    for member in sorted(members):
        m = _ISTIOD.match(member)
        if m:
            found.setdefault(m.group(2), {})[m.group(3)] = member
    for name, got in sorted(found.items()):
        for endpoint, inp, build in (
            ("debug/ambientz", Input.ISTIOD_AMBIENTZ, layout.istiod_ambientz),
            ("debug/syncz", Input.ISTIOD_SYNCZ, layout.istiod_syncz),
            ("debug/adsz", Input.ISTIOD_CONNECTIONS, layout.istiod_connections),  # a superset of connections
        ):
            logical = _path(out, got.get(endpoint, name), build, name)
            if endpoint in got:
                out.ok(logical, inp, members[got[endpoint]], got[endpoint])
            else:
                since = " (istioctl collects it since 1.24)" if endpoint == "debug/ambientz" else ""
                out.absent(logical, inp, f"{REASON}: no {endpoint} for this istiod{since}")
        if "discovery.log" in got:
            ns = got["discovery.log"].split("/")[1]
            _log(
                out,
                got["discovery.log"],
                members[got["discovery.log"]],
                Component.ISTIOD,
                ns,
                name,
                "discovery",
            )
        _istiod_version(out, name, members.get(got.get("metrics", ""), b""), got.get("metrics"), meta)
    return sorted(found)


def _istiod_version(out: Out, name: str, metrics: bytes, member: str | None, meta: Meta) -> None:
    """istiod's version from its own `istio_build` metric, else the one control plane version."""
    logical = layout.istiod_version(name)
    tag = _BUILD_TAG.search(metrics)
    if tag:
        body = b'{"version": "' + re.sub(rb"[^A-Za-z0-9._+-]", b"", tag.group(1)) + b'"}\n'
        out.ok(logical, Input.ISTIOD_VERSION, body, f"{member} (istio_build tag)")
    elif len(meta.control_plane_versions) == 1:
        body = b'{"version": "' + meta.control_plane_versions[0].encode() + b'"}\n'
        out.ok(logical, Input.ISTIOD_VERSION, body, "versions (the only control plane version)")
    else:
        out.absent(logical, Input.ISTIOD_VERSION, f"{REASON} (no istio_build metric for this istiod)")


def _cnis(out: Out, members: Mapping[str, bytes], pods: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
    by_name = {name: (ns, pod) for (ns, name), pod in pods.items()}
    for member in sorted(members):
        m = _CNI.match(member)
        if not m:
            continue
        ns, pod = by_name.get(m.group(1), ("", None))
        _log(out, member, members[member], Component.CNI, ns, m.group(1), _container(pod, "install-cni"))


def _ztunnel_names(pods: Mapping[tuple[str, str], Mapping[str, Any]], dumped: set[str]) -> Iterator[str]:
    names = {name for (_, name), pod in pods.items() if _labels(pod).get("app") == "ztunnel"} | dumped
    yield from sorted(names)


def lay_out_components(out: Out, members: Mapping[str, bytes], objects: kube.Objects, meta: Meta) -> None:
    pods = _pods(objects)
    dumped = _proxies(out, members, pods)
    _missing_ztunnels(out, pods, dumped)
    istiods = _istiods(out, members, meta)
    _cnis(out, members, pods)
    for zt in _ztunnel_names(pods, dumped):
        try:
            out.absent(layout.ztunnel_metrics(zt), Input.ZTUNNEL_METRICS)
            for istiod in istiods:
                out.absent(layout.istiod_proxy_config(istiod, zt), Input.ISTIOD_PROXY_CONFIG)
                out.absent(layout.istiod_proxy_policies(istiod, zt), Input.ISTIOD_PROXY_POLICIES)
        except ValueError:
            continue
