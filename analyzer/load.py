"""Build the typed `Bundle` model from validated `BundleFiles` (the only place member paths are read).

Members whose manifest status is not `ok` (or that are not stored) are never parsed: the model
records them as unavailable with the collector's reason. Members with status `ok` must parse;
invalid UTF-8/JSON or an unsupported dump shape is a BundleError naming the member.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from analyzer.bundle import BundleFiles, parse_json
from analyzer.errors import BundleError
from analyzer.gc_pause import no_cycle_collection
from analyzer.manifest_reader import is_usable, read_manifest
from analyzer.model import (
    Artifact,
    Bundle,
    Input,
    Istiod,
    LogFile,
    Pod,
    PodRelist,
    ProxyView,
    Status,
    XdsState,
    Ztunnel,
)
from analyzer.model.config import ConfigSet
from analyzer.parse import as_map, config_dump, config_dump_text, connections, istiod, kube, syncz
from analyzer.parse import config as config_parse
from analyzer.xds import Interner
from ztbundle import layout

T = TypeVar("T")


class _Loader:
    def __init__(self, files: BundleFiles) -> None:
        self.files = files
        self.manifest = read_manifest(files)
        self.reads: set[Input] = set()
        self.intern = Interner()
        self.pieces = config_dump_text.PieceCache()
        self.memo: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.sha256 = {
            a["path"]: a["sha256"]
            for a in files.manifest["artifacts"]
            if a.get("stored")
            and a.get("storage", layout.Storage.RAW) == layout.Storage.RAW
            and "sha256" in a
        }

    def usable(self, path: str) -> Artifact | None:
        a = self.manifest.artifacts.get(path)
        return a if a is not None and is_usable(a, self.files) else None

    def doc(self, path: str) -> Any:
        return self.files.json(path) if self.usable(path) else None

    def content_key(self, path: str) -> tuple[str, ...] | None:
        """What identifies a member's bytes without reading them: its recipe, or its checked sha256.

        A recipe's manifest sha256 is not re-checked on open (analyzer.store), so two recipes could
        claim one sha256; their object digests were checked, so the recipe itself is the key.
        """
        pieces = getattr(self.files.members, "pieces", None)
        recipe = pieces(path) if pieces is not None else None
        if recipe is not None:
            return ("recipe", *recipe)
        sha = self.sha256.get(path)
        return ("sha256", sha) if sha is not None else None

    def parsed(self, kind: str, path: str, build: Callable[[], T]) -> T:
        """`build()` once per distinct content: istiod sends every ztunnel the same per-proxy view."""
        key = self.content_key(path)
        if key is None:
            return build()
        if (kind, key) not in self.memo:
            self.memo[(kind, key)] = build()
        result: T = self.memo[(kind, key)]
        return result

    def unavailable_reason(self, path: str) -> str:
        a = self.manifest.artifacts.get(path)
        if a is None:
            return "not collected (no artifact in the manifest)"
        if a.status is Status.OK:
            return "listed as collected but missing from the archive"
        return f"{a.status.value}: {a.error}" if a.error else a.status.value

    def of_input(self, inp: Input) -> list[Artifact]:
        return [a for a in self.manifest.artifacts.values() if a.input is inp]

    # -- cluster lists -----------------------------------------------------------

    @contextmanager
    def guard(self, path: str) -> Iterator[None]:
        """Well-formed JSON of the wrong shape (a list where an object belongs…) → one-line BundleError."""
        try:
            yield
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            raise BundleError(
                self.files.path, path, f"unexpected content ({type(exc).__name__}: {exc})"
            ) from None

    def cluster(self) -> tuple[tuple[Pod, ...], dict[str, Any], tuple[Any, ...], tuple[Any, ...]]:
        with self.guard(layout.PODS):
            pods = tuple(kube.pod(i) for i in kube.items(self.doc(layout.PODS)))
        with self.guard(layout.NAMESPACES):
            namespaces = {n.name: n for n in map(kube.namespace, kube.items(self.doc(layout.NAMESPACES)))}
        with self.guard(layout.NODES):
            nodes = tuple(kube.node(i) for i in kube.items(self.doc(layout.NODES)))
        with self.guard(layout.SERVICES):
            services = tuple(kube.service(i) for i in kube.items(self.doc(layout.SERVICES)))
        return pods, namespaces, nodes, services

    def pods_relisted(self) -> PodRelist | None:
        """The pod names listed after the dumps; None for a bundle from before that list existed."""
        path = layout.PODS_AFTER_DUMPS
        if path not in self.manifest.artifacts:
            return None
        if not self.usable(path):
            return PodRelist(False, reason=self.unavailable_reason(path))
        with self.guard(path):
            pods = [kube.pod_identity(i) for i in kube.items(self.doc(path))]
            names = frozenset((ns, name) for ns, name, _ in pods)
            return PodRelist(True, names, frozenset(uid for _, _, uid in pods))

    def config(self) -> ConfigSet:
        """Every configuration List (empty where not collected or not installed), and istiod's Deployment."""
        return config_parse.config_set(self.doc, self.guard)

    # -- ztunnels ---------------------------------------------------------------

    def ztunnel(self, name: str, pod: Pod | None) -> Ztunnel:
        path = layout.ztunnel_config_dump(name)
        namespace = pod.namespace if pod else "istio-system"
        if not self.usable(path):
            reason = self.unavailable_reason(path)
            node = pod.node if pod else None
            return Ztunnel(name, namespace, pod, node, path, False, reason, _reads=self.reads)

        def parse(text: str) -> Any:
            return parse_json(self.files.path, path, text, self.files.limits.max_json_depth)

        piece_bytes = getattr(self.files.members, "piece_bytes", None)
        pieces = piece_bytes(path) if piece_bytes is not None else None
        try:
            with self.guard(path):
                dump = None
                if pieces is not None:  # format 2: each shared section is parsed once per bundle
                    dump = config_dump_text.parse_config_dump_pieces(pieces, self.intern, parse, self.pieces)
                if dump is None:
                    dump = self.parsed(
                        "ztunnel",
                        path,
                        lambda: config_dump_text.parse_config_dump_text(
                            self.files.text(path), self.intern, parse
                        ),
                    )
        except config_dump.UnsupportedDump as exc:
            raise BundleError(self.files.path, path, str(exc)) from None
        return Ztunnel(
            name=name,
            namespace=namespace,
            pod=pod,
            node=(pod.node if pod else None) or dump.config.local_node,
            config_dump_path=path,
            config=dump.config,
            version=dump.version,
            xds=dump.xds,
            certificates=dump.certificates,
            workload_state=dump.workload_state,
            staged_services=dump.staged_services,
            format_notes=dump.notes,
            _reads=self.reads,
        )

    def ztunnel_pods(self, pods: Iterable[Pod]) -> list[tuple[str, Pod | None]]:
        """Every ztunnel by name: its pod, or None for a dump without a pod object (pod list failed)."""
        by_name: dict[str, Pod | None] = {p.name: p for p in pods if p.labels.get("app") == "ztunnel"}
        for a in self.of_input(Input.ZTUNNEL_CONFIG):
            name = layout.parse_ztunnel_config_dump(a.path)
            if name and name not in by_name:
                by_name[name] = None
        return sorted(by_name.items())

    def ztunnels(self, pods: Iterable[Pod]) -> tuple[Ztunnel, ...]:
        return tuple(self.ztunnel(name, pod) for name, pod in self.ztunnel_pods(pods))

    # -- istiod -----------------------------------------------------------------

    def view(self, istiod_name: str, ztunnel: str) -> ProxyView:
        path = layout.istiod_proxy_config(istiod_name, ztunnel)
        wads = layout.istiod_proxy_policies(istiod_name, ztunnel)
        state, addresses, _ = (XdsState(), 0, 0)
        reason = None
        if self.usable(path):
            with self.guard(path):
                state, addresses, _ = self.parsed(
                    "proxy", path, lambda: istiod.parse_proxy_config(self.files.json(path), self.intern)
                )
            if addresses == 0:
                reason = "empty per-proxy WDS dump (expected on Istio 1.25+)"
        else:
            reason = self.unavailable_reason(path)
        pol_ok = self.usable(wads) is not None
        if pol_ok:
            with self.guard(wads):
                pol_state, _, _ = self.parsed(
                    "proxy", wads, lambda: istiod.parse_proxy_config(self.files.json(wads), self.intern)
                )
            state = XdsState(
                state.workloads,
                state.services,
                pol_state.policies,
                state.workload_hashes,
                state.service_hashes,
                pol_state.policy_hashes,
            )
        return ProxyView(ztunnel, path, reason is None, reason, state, wads if pol_ok else None, pol_ok)

    def istiod(self, name: str, pod: Pod | None, ztunnel_names: Iterable[str]) -> Istiod:
        views = {}
        for zt in ztunnel_names:
            if self.manifest.artifacts.get(layout.istiod_proxy_config(name, zt)) is not None:
                views[zt] = self.view(name, zt)
        amb_path = layout.istiod_ambientz(name)
        amb = self.usable(amb_path) is not None
        with self.guard(amb_path):
            ambientz = (
                self.parsed(
                    "ambientz",
                    amb_path,
                    lambda: istiod.parse_ambientz(self.files.json(amb_path), self.intern),
                )
                if amb
                else None
            )
        sync_doc = self.doc(layout.istiod_syncz(name))
        with self.guard(layout.istiod_syncz(name)):
            sync = syncz.parse_syncz(sync_doc) if sync_doc is not None else None
        conn_doc = self.doc(layout.istiod_connections(name))
        with self.guard(layout.istiod_connections(name)):
            conns = connections.parse_connections(conn_doc) if conn_doc is not None else None
        with self.guard(layout.istiod_version(name)):
            version = self.istiod_version(name)
        return Istiod(
            name=name,
            namespace=pod.namespace if pod else "istio-system",
            pod=pod,
            version=version,
            views=views,
            ambientz=ambientz,
            ambientz_path=amb_path if amb else None,
            syncz=sync,
            connections=conns,
            _reads=self.reads,
        )

    def istiod_version(self, name: str) -> str | None:
        path = layout.istiod_version(name)
        if not self.usable(path):
            return None
        text = self.files.text(path).strip()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            return text.split("-", 1)[0] or None  # `BuildInfo.String()`: `<ver>-<sha>-<status>`
        except RecursionError:  # hostile nesting: the reader's depth check names member and limit
            doc = parse_json(self.files.path, path, text, self.files.limits.max_json_depth)
        if isinstance(doc, Mapping):
            info = as_map(doc.get("info")) or doc
            v = info.get("version") or info.get("Version")
            return str(v) if v else None
        return str(doc)

    def istiods(self, pods: Iterable[Pod], ztunnels: Iterable[Ztunnel]) -> tuple[Istiod, ...]:
        by_name: dict[str, Pod | None] = {p.name: p for p in pods if p.labels.get("app") == "istiod"}
        for path in self.manifest.artifacts:
            name = layout.parse_istiod_member(path)
            if name is not None:
                by_name.setdefault(name, None)
        names = [z.name for z in ztunnels]
        return tuple(self.istiod(n, p, names) for n, p in sorted(by_name.items()))

    # -- logs -------------------------------------------------------------------

    def logs(self) -> tuple[LogFile, ...]:
        out = []
        for a in self.manifest.artifacts.values():
            log = layout.parse_pod_log(a.path)
            if log is None or not self.usable(a.path):
                continue
            read = functools.partial(self.files.text, a.path)
            trimmed = a.path in self.manifest.trimmed
            out.append(
                LogFile(
                    log.component, log.namespace, log.pod, log.container, log.previous, a.path, read, trimmed
                )
            )
        return tuple(sorted(out, key=lambda f: f.path))

    def capture_start(self) -> datetime:
        dumps = [
            a.started_at
            for a in self.manifest.artifacts.values()
            if a.input in (Input.ZTUNNEL_CONFIG, Input.ISTIOD_PROXY_CONFIG, Input.ISTIOD_AMBIENTZ)
            and a.started_at is not None
        ]
        return min(dumps, default=self.manifest.collected_at)


def load_index(files: BundleFiles) -> Bundle:
    """The cluster lists, the logs (read when asked) and each ztunnel's pod and dump path, no dump
    parsed: enough for a view of one ztunnel (`ztunnel-config`, `metrics`) and for the report's log
    sections, ~3x faster than `load_bundle` at 1,000 ztunnels."""
    return _load(files, parse=False)


def load_bundle(files: BundleFiles) -> Bundle:
    """Parse every usable member into the model."""
    with no_cycle_collection():
        return _load(files, parse=True)


def _load(files: BundleFiles, *, parse: bool) -> Bundle:
    loader = _Loader(files)
    pods, namespaces, nodes, services = loader.cluster()
    if parse:
        ztunnels = loader.ztunnels(pods)
        istiods, logs = loader.istiods(pods, ztunnels), loader.logs()
    else:
        ztunnels = tuple(
            Ztunnel(
                name,
                pod.namespace if pod else "istio-system",
                pod,
                pod.node if pod else None,
                layout.ztunnel_config_dump(name),
                False,
                "not loaded (index only)",
                _reads=loader.reads,
            )
            for name, pod in loader.ztunnel_pods(pods)
        )
        istiods, logs = (), loader.logs()
    return Bundle(
        manifest=loader.manifest,
        pods=pods,
        namespaces=namespaces,
        nodes=nodes,
        services=services,
        ztunnels=ztunnels,
        istiods=istiods,
        logs=logs,
        config=loader.config() if parse else ConfigSet(),
        capture_start=loader.capture_start(),
        pods_relisted=loader.pods_relisted(),
        _reads=loader.reads,
    )
