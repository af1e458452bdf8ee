"""Write istioctl-bug-report-shaped archives from the simulated cluster's scenarios.

The layout follows istio/istio at commit 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c (1.30 line):

- tools/bug-report/pkg/archive/archive.go: folders `proxies/<ns>/<pod>`, `istio/<ns>/<pod>`,
  `cluster`, `cni/<pod>`; `Create` walks the directory (lexical order) and names members relative
  to `/tmp/bug-report`, hence the `bug-report/` prefix, or to `--dir` itself (no prefix).
- tools/bug-report/pkg/bugreport/bugreport.go: `versions` (CLI BuildInfo, then each revision's
  `MeshInfo`), `bug-report.log`, `istio-proxy.log` and `discovery.log`, `cni.log`; `getLog` wraps
  a restarted container's log in the "Previous log" markers; `writeFile` skips empty text.
- tools/bug-report/pkg/content/content.go: `k8s-resources` (namespaced kinds, all namespaces) and
  `k8s-cluster-resources` (nodes, namespaces, …) as `kubectl get -o yaml` Lists, `nodes`,
  `pods` (Istio namespace only), `events` and `secrets` as kubectl tables, `cluster-context`,
  `kubectl-version`; each istiod's debug URLs as files named after the URL; ztunnel's
  `config_dump`; an Envoy's `config_dump?include_eds`.
- tools/bug-report/pkg/common/common.go: the istiod debug URLs. `ENDPOINTS_1_23` is the list before
  commit e8b4357f51b (ambientz added, Istio 1.24) and 8fbd5e9b621 (krtz added, 1.25);
  `ENDPOINTS_CURRENT` the list at the commit above.

Before commit 73236376bde (Istio 1.30), `k8s-resources` also held nodes and namespaces and there
was no `k8s-cluster-resources`; `old_layout=True` writes that shape.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from tests.fakecluster import k8s, payloads
from tests.fakecluster.admin import Pieces, admin_response
from tests.fakecluster.logs import component_log
from tests.fakecluster.scenario import WAYPOINT_CONTROLLER, Role, Scenario

ENDPOINTS_1_23 = (
    "debug/adsz",
    "debug/authorizationz",
    "debug/cachez",
    "debug/clusterz",
    "debug/configz",
    "debug/endpointShardz",
    "debug/endpointz",
    "debug/inject",
    "debug/instancesz",
    "debug/mcsz",
    "debug/mesh",
    "debug/networkz",
    "debug/push_status",
    "debug/registryz",
    "debug/resourcesz",
    "debug/syncz",
    "debug/telemetryz",
    "metrics",
)
ENDPOINTS_CURRENT = (*ENDPOINTS_1_23[:8], "debug/krtz", *ENDPOINTS_1_23[8:17], "debug/ambientz", "metrics")
EXCLUDED = ("kube-system", "kube-public", "kube-node-lease", "local-path-storage")  # --exclude default
PRESENT = "========= Previous log present (appended at the end) =========\n\n"
PREVIOUS = "\n\n========= Previous log =========\n\n"


class _Dumper(yaml.SafeDumper):
    """kubectl writes no anchors: objects that share a Python dict are written out twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml_list(items: Iterable[dict[str, Any]]) -> str:
    """What `kubectl get … -o yaml` prints: one v1 List, keys sorted, every item with its kind."""
    doc = {"apiVersion": "v1", "items": list(items), "kind": "List", "metadata": {"resourceVersion": ""}}
    text: str = yaml.dump(doc, Dumper=_Dumper, default_flow_style=False, sort_keys=True)
    return text


def _objects(scn: Scenario, *resources: tuple[str, str]) -> list[dict[str, Any]]:
    out = []
    for group, name in resources:
        res = k8s.RESOURCES[(group, name)]
        kind = {"apiVersion": res.group_version, "kind": res.kind}
        out += [{**kind, **o} for o in k8s.objects(scn, group, name)]
    return out


def _log(scn: Scenario, pod: Any) -> str:
    """The pod's main container log as istioctl writes it (previous run appended after a restart)."""

    def text(previous: bool) -> str:
        return "".join(f"{line}\n" for _, line in component_log(scn, pod.namespace, pod.name, previous))

    current = text(False)
    if k8s.restarts_of(scn, pod) > 0:
        return PRESENT + current + PREVIOUS + text(True)
    return current


def _admin(scn: Scenario, pod: Any, port: int, path: str) -> bytes:
    resp = admin_response(scn, pod, port, path)
    if resp is None or resp.status != 200:
        return b""  # istioctl logs the error and writes no file
    body = resp.body
    return body.joined() if isinstance(body, Pieces) else bytes(body)  # type: ignore[arg-type]


def _adsz(scn: Scenario, istiod: Any) -> bytes:
    """`debug/adsz`: connections' AdsClients plus each proxy's labels and watches."""
    doc = payloads.connections(scn, istiod)
    for client in doc["clients"]:
        client["labels"] = {"app": "ztunnel"}
        client["watches"] = {"type.googleapis.com/istio.workload.Address": []}
    return json.dumps(doc, indent=2).encode()


def _istiod_body(scn: Scenario, istiod: Any, url: str) -> bytes:
    if url == "debug/adsz":
        return _adsz(scn, istiod)
    if url == "metrics":
        return (
            f'# TYPE istio_build gauge\nistio_build{{component="pilot",tag="{scn.istio_version}"}} 1\n'
        ).encode() + _admin(scn, istiod, 15014, "/metrics")
    if url in ("debug/ambientz", "debug/syncz"):
        return _admin(scn, istiod, 15014, f"/{url}")
    return b"{}\n"  # endpoints ztbundle does not read: present, as in a real archive, with no content


def _versions(scn: Scenario, istioctl: str) -> str:
    def info(v: str) -> str:  # BuildInfo.LongForm(): fmt's %#v of the struct
        return (
            f'version.BuildInfo{{Version:"{v}", GitRevision:"4f7e3c2a", GolangVersion:"go1.24.4", '
            f'BuildStatus:"Clean", GitTag:"{v}"}}'
        )

    plane = ", ".join(
        f'version.ServerInfo{{Component:"pilot", Revision:"default", Info:{info(scn.istio_version)}}}'
        for _ in scn.pods_by_role(Role.ISTIOD)
    )
    return (
        f"CLI version:\n{info(istioctl)}\n\n"
        "✅ The following Istio control plane revisions/versions were found in the cluster:\n"
        f"Revision default:\n&version.MeshInfo{{{plane}}}\n\n"
        "✅ The following proxy revisions/versions were found in the cluster:\n"
        f"Revision default: Versions {{{scn.istio_version}}}\n"
    )


def files(
    scn: Scenario,
    *,
    istioctl: str = "1.26.2",
    endpoints: tuple[str, ...] = ENDPOINTS_CURRENT,
    old_layout: bool = False,
    exclude: tuple[str, ...] = EXCLUDED,
) -> dict[str, bytes]:
    """The archive's files by path below its root; empty ones are left out, as istioctl does."""
    ns_kinds = [("", "pods"), ("", "services"), ("apps", "daemonsets"), ("apps", "deployments")]
    ns_kinds += [("discovery.k8s.io", "endpointslices"), ("", "configmaps")]
    cluster_kinds = [("", "nodes"), ("", "namespaces")]
    stamp = scn.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out: dict[str, str | bytes] = {
        "versions": _versions(scn, istioctl),
        "bug-report.log": f"{stamp}\tinfo\tbug-report\tCreating an archive\n",
        "cluster/cluster-context": "kind-ambient\nhttps://127.0.0.1:6443\n",
        "cluster/kubectl-version": "Client Version: v1.30.2\nServer Version: v1.30.0\n",
        "cluster/nodes": _yaml_list(_objects(scn, ("", "nodes"))),
        "cluster/pods": _yaml_list(
            o for o in _objects(scn, ("", "pods")) if o["metadata"]["namespace"] == scn.istio_namespace
        ),
        "cluster/events": "NAMESPACE   LAST SEEN   TYPE   REASON   OBJECT   MESSAGE\n",
        "cluster/secrets": "NAMESPACE   NAME   TYPE   DATA   AGE\n",
    }
    if old_layout:
        out["cluster/k8s-resources"] = _yaml_list(_objects(scn, *ns_kinds, *cluster_kinds))
    else:
        out["cluster/k8s-resources"] = _yaml_list(_objects(scn, *ns_kinds))
        out["cluster/k8s-cluster-resources"] = _yaml_list(_objects(scn, *cluster_kinds))
    for pod in scn.pods:
        if pod.namespace in exclude:
            continue
        base = f"proxies/{pod.namespace}/{pod.name}"
        if pod.role is Role.ZTUNNEL:
            out[f"{base}/config_dump"] = _admin(scn, pod, 15000, "/config_dump")
            out[f"{base}/istio-proxy.log"] = _log(scn, pod)
        elif pod.labels.get("gateway.istio.io/managed") == WAYPOINT_CONTROLLER:
            out[f"{base}/config_dump?include_eds"] = b'{\n "configs": []\n}\n'
            out[f"{base}/istio-proxy.log"] = _log(scn, pod)
        elif pod.role is Role.ISTIOD:
            base = f"istio/{pod.namespace}/{pod.name}"
            for url in endpoints:
                out[f"{base}/{url}"] = _istiod_body(scn, pod, url)
            out[f"{base}/discovery.log"] = _log(scn, pod)
    for cni in scn.pods_by_role(Role.CNI):  # resources.CniPod: every namespace
        out[f"cni/{cni.name}/cni.log"] = _log(scn, cni)
    encoded = {k: v.encode() if isinstance(v, str) else v for k, v in out.items()}
    return {k: v for k, v in encoded.items() if v.strip()}


def tar_bytes(members: dict[str, bytes], *, prefix: bool, mtime: float) -> bytes:
    """A gzipped tar as archive.Create writes it: regular files only, lexical walk order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(f"bug-report/{name}" if prefix else name)
            info.size, info.mode, info.mtime = len(members[name]), 0o644, mtime
            tar.addfile(info, io.BytesIO(members[name]))
    return buf.getvalue()


def write(path: Path, scn: Scenario, *, prefix: bool = True, **kwargs: Any) -> Path:
    """Write `scn` as an istioctl bug-report `.tar.gz` at `path`."""
    path.write_bytes(tar_bytes(files(scn, **kwargs), prefix=prefix, mtime=scn.now.timestamp()))
    return path


def write_dir(root: Path, scn: Scenario, **kwargs: Any) -> Path:
    """Write `scn` as the directory `tar xzf bug-report.tar.gz` leaves: `root/bug-report/…`."""
    for name, data in files(scn, **kwargs).items():
        target = root / "bug-report" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root / "bug-report"


def ztunnels_in(scn: Scenario, namespace: str) -> Scenario:
    """`scn` with the ztunnel DaemonSet in `namespace` (kube-system on GKE and OpenShift installs)."""
    pods = tuple(replace(p, namespace=namespace) if p.role is Role.ZTUNNEL else p for p in scn.pods)
    return replace(scn, pods=pods)
