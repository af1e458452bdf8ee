"""Kubernetes API objects for a scenario, in the JSON the real API server sends, plus selectors.

Objects carry what the official client's models require (it validates required fields when it
deserializes), and what collectors read: uid, resourceVersion, creationTimestamp, deletionTimestamp,
ownerReferences, status.containerStatuses with restartCount/lastState, podIP(s), hostIP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.fakecluster import config
from tests.fakecluster.memo import once_cache
from tests.fakecluster.scenario import (
    Node,
    Phase,
    Pod,
    Role,
    Scenario,
    Service,
    k8s_suffix,
    stable_int,
    stable_uid,
)
from ztbundle import layout

Obj = dict[str, Any]


def ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def rv(*parts: str) -> str:
    return str(10_000 + stable_int("rv", *parts) % 900_000)


def meta(
    scn: Scenario, kind: str, name: str, namespace: str | None, created: datetime | None = None, **extra: Any
) -> Obj:
    out: Obj = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    out |= {
        "uid": stable_uid(kind, namespace or "", name),
        "resourceVersion": rv(kind, namespace or "", name),
        "creationTimestamp": ts(created or scn.now - timedelta(days=3)),
    }
    return out | {k: v for k, v in extra.items() if v}


# --- pods -----------------------------------------------------------------------------------------


def _effective(scn: Scenario, pod: Pod) -> tuple[int, bool, Phase]:
    if pod.role is Role.ZTUNNEL and pod.node:
        zo = scn.ztunnel_override(pod.node)
        return (
            max(pod.restarts, zo.restarts),
            pod.ready and zo.ready,
            zo.phase if zo.phase is not Phase.RUNNING else pod.phase,
        )
    return pod.restarts, pod.ready, pod.phase


def restarts_of(scn: Scenario, pod: Pod) -> int:
    return _effective(scn, pod)[0]


def _owner(pod: Pod) -> list[Obj]:
    if not pod.workload:
        return []
    if pod.workload_kind == "Deployment":
        kind, name = "ReplicaSet", f"{pod.workload}-{pod.labels.get('pod-template-hash', 'x')}"
    else:
        kind, name = pod.workload_kind, pod.workload
    return [
        {
            "apiVersion": "apps/v1",
            "kind": kind,
            "name": name,
            "uid": stable_uid(kind, pod.namespace, name),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def _container_status(scn: Scenario, pod: Pod, name: str, first: bool) -> Obj:
    restarts, ready, phase = _effective(scn, pod)
    restarts, ready = (restarts, ready) if first else (0, True)
    started = (pod.created or scn.now) + timedelta(seconds=5)
    status: Obj = {
        "name": name,
        "image": pod.image or f"docker.io/library/{name}:latest",
        "imageID": f"docker.io/library/{name}@sha256:{stable_uid('img', name).replace('-', '')}",
        "containerID": f"containerd://{stable_uid('ctr', pod.name, name).replace('-', '')}",
        "ready": ready and phase is Phase.RUNNING,
        "restartCount": restarts,
        "started": phase is Phase.RUNNING,
        "lastState": {},
    }
    if phase is Phase.PENDING:
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
        status["imageID"], status["containerID"] = "", None
        status.pop("containerID")
    elif restarts and not ready:
        status["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container={name} pod={pod.name}",
            }
        }
    else:
        status["state"] = {
            "running": {"startedAt": ts(scn.now - timedelta(minutes=2) if restarts else started)}
        }
    if restarts:
        status["lastState"] = {
            "terminated": {
                "exitCode": 137 if pod.last_reason == "OOMKilled" else 1,
                "reason": pod.last_reason,
                "startedAt": ts(scn.now - timedelta(minutes=4)),
                "finishedAt": ts(scn.now - timedelta(minutes=3)),
                "containerID": status.get("containerID", ""),
            }
        }
    return status


def pod_object(scn: Scenario, pod: Pod) -> Obj:
    restarts, ready, phase = _effective(scn, pod)
    node = next((n for n in scn.nodes if n.name == pod.node), None)
    m = meta(
        scn,
        "pod",
        pod.name,
        pod.namespace,
        pod.created,
        labels=dict(pod.labels),
        annotations=dict(pod.annotations),
        ownerReferences=_owner(pod),
        generateName=pod.name.rsplit("-", 1)[0] + "-" if pod.workload else None,
    )
    m["uid"] = pod.uid
    if pod.deleted:
        m |= {"deletionTimestamp": ts(pod.deleted), "deletionGracePeriodSeconds": 30}
    containers = [
        {
            "name": c,
            "image": pod.image or f"docker.io/library/{c}:latest",
            "ports": [{"containerPort": p, "protocol": "TCP"} for p in pod.ports] if i == 0 else [],
            **({"env": [{"name": k, "value": v} for k, v in pod.env.items()]} if i == 0 and pod.env else {}),
            "resources": {"limits": {"memory": pod.memory_limit}} if i == 0 and pod.memory_limit else {},
            **(
                {
                    "readinessProbe": {
                        "httpGet": {"path": "/ready", "port": pod.probe_port, "scheme": "HTTP"},
                        "periodSeconds": 10,
                        "timeoutSeconds": 1,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    }
                }
                if i == 0 and pod.probe_port
                else {}
            ),
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
            **(pod.container_extra if i == 0 else {}),
        }
        for i, c in enumerate(pod.containers)
    ]
    spec: Obj = {
        "containers": containers,
        "serviceAccountName": pod.service_account,
        "serviceAccount": pod.service_account,
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": 30,
        **pod.spec_extra,
    }
    if pod.node:
        spec["nodeName"] = pod.node
    if pod.host_network:
        spec["hostNetwork"] = True
    all_ready = ready and phase is Phase.RUNNING
    cond_t = ts((pod.created or scn.now) + timedelta(seconds=8))
    conditions = [
        {"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": cond_t}
        for t, s in (
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", str(all_ready)),
            ("ContainersReady", str(all_ready)),
            ("PodScheduled", "True"),
        )
    ]
    status: Obj = {"phase": str(phase), "conditions": conditions, "qosClass": "BestEffort"}
    if node:
        status |= {"hostIP": node.ip, "hostIPs": [{"ip": node.ip}]}
    if pod.ip:
        status |= {"podIP": pod.ip, "podIPs": [{"ip": pod.ip}]}
    status["startTime"] = ts(pod.created or scn.now)
    status["containerStatuses"] = [
        _container_status(scn, pod, c, i == 0) for i, c in enumerate(pod.containers)
    ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status}


# --- cluster-scoped and other objects -----------------------------------------------------------------


def node_object(scn: Scenario, node: Node) -> Obj:
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": node.zone,
    }
    ready_t = ts(scn.now - timedelta(days=3))
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta(scn, "node", node.name, None, labels=labels),
        "spec": {
            "podCIDR": node.pod_cidr,
            "podCIDRs": [node.pod_cidr],
            "providerID": f"kind://docker/{node.name}",
        },
        "status": {
            "addresses": [
                {"address": node.ip, "type": "InternalIP"},
                {"address": node.name, "type": "Hostname"},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": str(node.ready),
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": ts(scn.now),
                    "lastTransitionTime": ready_t,
                }
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": stable_uid("boot", node.name),
                "containerRuntimeVersion": "containerd://1.7.18",
                "kernelVersion": "6.8.0-45-generic",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.31.2",
                "machineID": node.uid.replace("-", ""),
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": node.uid,
            },
        },
    }


def namespace_object(scn: Scenario, name: str, labels: dict[str, str]) -> Obj:
    labels = {"kubernetes.io/metadata.name": name, **labels}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(scn, "namespace", name, None, labels=labels),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def service_object(scn: Scenario, svc: Service) -> Obj:
    spec: Obj = {
        "type": "ClusterIP",
        "clusterIP": svc.cluster_ip,
        "clusterIPs": [svc.cluster_ip],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "ports": [
            {"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol}
            for p in svc.ports
        ],
    }
    if svc.selector:
        spec["selector"] = dict(svc.selector)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(scn, "service", svc.name, svc.namespace, labels=dict(svc.labels)),
        "spec": spec,
        "status": {"loadBalancer": {}} | config.waypoint_bound(scn, svc),
    }


def endpointslice_object(scn: Scenario, svc: Service) -> Obj:
    pods = [p for p in scn.pods_of(svc) if p.ip]
    name = f"{svc.name}-{k8s_suffix('eps', svc.namespace, svc.name)}"
    labels = {
        "kubernetes.io/service-name": svc.name,
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "addressType": "IPv4",
        "metadata": meta(
            scn, "endpointslice", name, svc.namespace, labels=labels, generateName=f"{svc.name}-"
        ),
        "endpoints": [
            {
                "addresses": [p.ip],
                "conditions": {
                    "ready": p.ready and p.phase is Phase.RUNNING,
                    "serving": p.phase is Phase.RUNNING,
                    "terminating": p.deleted is not None,
                },
                "nodeName": p.node,
                "targetRef": {"kind": "Pod", "name": p.name, "namespace": p.namespace, "uid": p.uid},
            }
            for p in pods
        ],
        "ports": [{"name": p.name, "port": p.target_port, "protocol": p.protocol} for p in svc.ports],
    }


def _template(labels: dict[str, str], container: str, image: str, env: list[Obj] | None = None) -> Obj:
    spec: Obj = {"name": container, "image": image} | ({"env": env} if env else {})
    return {"metadata": {"labels": labels}, "spec": {"containers": [spec]}}


def daemonset_objects(scn: Scenario) -> list[Obj]:
    out = []
    for name, role, sel, container in (
        ("ztunnel", Role.ZTUNNEL, {"app": "ztunnel"}, "istio-proxy"),
        ("istio-cni-node", Role.CNI, {"k8s-app": "istio-cni-node"}, "install-cni"),
    ):
        pods = scn.pods_by_role(role)
        ready = sum(1 for p in pods if _effective(scn, p)[1])
        image = pods[0].image if pods else f"docker.io/istio/{name}:{scn.istio_version}"
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": meta(
                    scn,
                    "daemonset",
                    name,
                    scn.istio_namespace,
                    generation=1,
                    labels={"app.kubernetes.io/version": scn.istio_version},
                ),
                "spec": {
                    "selector": {"matchLabels": sel},
                    "template": _template(sel, container, image),
                    "updateStrategy": {"type": "RollingUpdate"},
                },
                "status": {
                    "currentNumberScheduled": len(pods),
                    "desiredNumberScheduled": len(scn.nodes),
                    "numberAvailable": ready,
                    "numberMisscheduled": 0,
                    "numberReady": ready,
                    "updatedNumberScheduled": len(pods),
                    "observedGeneration": 1,
                    **({"numberUnavailable": len(scn.nodes) - ready} if ready < len(scn.nodes) else {}),
                },
            }
        )
    return out


def _env(scn: Scenario, pod: Pod) -> list[Obj]:
    """istiod's Deployment env as the chart renders it (CA_TRUSTED_NODE_ACCOUNTS among it)."""
    if pod.role is not Role.ISTIOD:
        return []
    return [{"name": k, "value": v} for k, v in scn.istiod_env]


def deployment_objects(scn: Scenario, namespace: str | None = None) -> list[Obj]:
    groups: dict[tuple[str, str], list[Pod]] = {}
    for p in scn.pods:
        if p.workload and p.workload_kind == "Deployment" and namespace in (None, p.namespace):
            groups.setdefault((p.namespace, p.workload), []).append(p)
    out = []
    for (ns, name), pods in sorted(groups.items()):
        sel = {
            k: v
            for k, v in pods[0].labels.items()
            if k in ("app", "version", "istio", "gateway.networking.k8s.io/gateway-name")
        }
        ready = sum(1 for p in pods if _effective(scn, p)[1])
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta(scn, "deployment", name, ns, generation=1),
                "spec": {
                    "replicas": len(pods),
                    "selector": {"matchLabels": sel},
                    "template": _template(
                        sel, pods[0].containers[0], pods[0].image or "x", _env(scn, pods[0])
                    ),
                },
                "status": {
                    "replicas": len(pods),
                    "readyReplicas": ready,
                    "availableReplicas": ready,
                    "updatedReplicas": len(pods),
                    "observedGeneration": 1,
                },
            }
        )
    return out


def configmap_objects(scn: Scenario) -> list[Obj]:
    mesh = (
        "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n"
        "defaultProviders:\n  metrics:\n  - prometheus\nenablePrometheusMerge: true\n"
        f"rootNamespace: {scn.istio_namespace}\ntrustDomain: {scn.trust_domain}\n"
    )
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(
                scn,
                "configmap",
                "istio",
                scn.istio_namespace,
                labels={"app.kubernetes.io/name": "istiod", "istio.io/rev": "default"},
            ),
            "data": {"mesh": mesh, "meshNetworks": "networks: {}"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(scn, "configmap", "istio-ca-root-cert", scn.istio_namespace),
            "data": {"root-cert.pem": "-----BEGIN CERTIFICATE-----\n(fake)\n-----END CERTIFICATE-----\n"},
        },
        {  # the istio-cni chart's settings, passed to the node agent as environment variables
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(
                scn, "configmap", "istio-cni-config", scn.istio_namespace, labels={"app": "istio-cni"}
            ),
            "data": {
                "CURRENT_AGENT_VERSION": scn.istio_version,
                "AMBIENT_ENABLED": "true",
                "AMBIENT_DNS_CAPTURE": "true",
                "AMBIENT_IPV6": "true",
                "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "false",
                "CHAINED_CNI_PLUGIN": "true",
                "EXCLUDED_NAMESPACES": "kube-system",
                "REPAIR_ENABLED": "true",
                "REPAIR_LABEL_PODS": "false",
                "REPAIR_DELETE_PODS": "false",
                "REPAIR_REPAIR_PODS": "true",
                "NATIVE_NFTABLES": "false",
            },
        },
    ]


def event_objects(scn: Scenario) -> list[Obj]:
    out = []
    for pod in scn.pods:
        restarts, ready, _ = _effective(scn, pod)
        if not restarts or ready:
            continue
        name = f"{pod.name}.{stable_int('ev', pod.name) % 16**16:016x}"
        t = ts(scn.now - timedelta(minutes=1))
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": meta(scn, "event", name, pod.namespace),
                "involvedObject": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": pod.name,
                    "namespace": pod.namespace,
                    "uid": pod.uid,
                    "fieldPath": f"spec.containers{{{pod.containers[0]}}}",
                },
                "reason": "BackOff",
                "message": f"Back-off restarting failed container {pod.containers[0]} in pod "
                f"{pod.name}_{pod.namespace}({pod.uid})",
                "type": "Warning",
                "count": restarts,
                "firstTimestamp": t,
                "lastTimestamp": t,
                "source": {"component": "kubelet", "host": pod.node},
                "reportingComponent": "kubelet",
                "reportingInstance": pod.node or "",
            }
        )
    return out


def secret_objects(scn: Scenario) -> list[Obj]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "istio.io/ca-root",
            "metadata": meta(scn, "secret", "istio-ca-secret", scn.istio_namespace),
            "data": {"ca-key.pem": "c2VjcmV0LWtleS1tdXN0LW5ldmVyLWJlLXJlYWQ="},
        }
    ]


# --- resource table -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resource:
    name: str  # plural, as in the URL and RBAC
    group: str  # "" for core
    version: str
    kind: str
    namespaced: bool
    objects: Callable[[Scenario], list[Obj]]
    older: tuple[str, ...] = ()  # further versions served (preferred is `version`)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES: dict[tuple[str, str], Resource] = {
    (r.group, r.name): r
    for r in (
        Resource("pods", "", "v1", "Pod", True, lambda s: [pod_object(s, p) for p in s.pods]),
        Resource("nodes", "", "v1", "Node", False, lambda s: [node_object(s, n) for n in s.nodes]),
        Resource(
            "namespaces",
            "",
            "v1",
            "Namespace",
            False,
            lambda s: [namespace_object(s, n.name, dict(n.labels)) for n in s.namespaces],
        ),
        Resource("services", "", "v1", "Service", True, lambda s: [service_object(s, x) for x in s.services]),
        Resource("configmaps", "", "v1", "ConfigMap", True, configmap_objects),
        Resource("events", "", "v1", "Event", True, event_objects),
        Resource("secrets", "", "v1", "Secret", True, secret_objects),
        Resource(
            "endpointslices",
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            True,
            lambda s: [endpointslice_object(s, x) for x in s.services],
        ),
        Resource("daemonsets", "apps", "v1", "DaemonSet", True, daemonset_objects),
        Resource("deployments", "apps", "v1", "Deployment", True, lambda s: deployment_objects(s)),
        *(
            Resource(
                res.resource,
                res.group,
                config.SERVED[res.kind][0],
                res.kind,
                res.namespaced,
                config.of_kind(res.kind),
                config.SERVED[res.kind][1:],
            )
            for res in layout.CONFIG_RESOURCES
        ),
    )
}


@once_cache(maxsize=64)
def objects(scn: Scenario, group: str, resource: str) -> tuple[Obj, ...]:
    """All objects of a resource, sorted like etcd keys (namespace, then name)."""
    res = RESOURCES[(group, resource)]
    objs = res.objects(scn)
    return tuple(sorted(objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])))


# --- selectors ------------------------------------------------------------------------------------

_SET_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(expr: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in expr:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p for p in (*parts, cur) if p.strip()]


class SelectorError(ValueError):
    pass


LabelPred = Callable[[dict[str, str]], bool]


def _label_term(term: str) -> LabelPred:
    """One requirement of a labelSelector as a predicate over a label map."""
    m = _SET_RE.match(term)
    if m:
        key, values = m.group(1), {v.strip() for v in m.group(3).split(",") if v.strip()}
        if m.group(2) == "in":
            return lambda lb: lb.get(key) in values
        return lambda lb: lb.get(key) not in values
    if "!=" in term:
        key, value = (x.strip() for x in term.split("!=", 1))
        return lambda lb: lb.get(key) != value
    if "=" in term:
        key, value = (x.strip() for x in term.replace("==", "=").split("=", 1))
        return lambda lb: lb.get(key) == value
    if term.startswith("!"):
        absent = term[1:].strip()
        return lambda lb: absent not in lb
    if re.match(r"^[A-Za-z0-9./_-]+$", term):
        return lambda lb: term in lb
    raise SelectorError(f"unable to parse requirement: {term!r}")


def label_matcher(expr: str) -> LabelPred:
    """Compile a labelSelector (=, ==, !=, in, notin, exists, !exists) into a predicate."""
    checks = [_label_term(raw.strip()) for raw in _split_selector(expr or "")]
    return lambda labels: all(c(labels) for c in checks)


FIELDS: dict[str, Callable[[Obj], str]] = {
    "metadata.name": lambda o: o["metadata"]["name"],
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
    "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
    "status.phase": lambda o: o.get("status", {}).get("phase", ""),
    "involvedObject.name": lambda o: o.get("involvedObject", {}).get("name", ""),
    "involvedObject.kind": lambda o: o.get("involvedObject", {}).get("kind", ""),
    "type": lambda o: o.get("type", ""),
}


def _field_term(get: Callable[[Obj], str], value: str, negate: bool) -> Callable[[Obj], bool]:
    return lambda o: (get(o) != value) if negate else (get(o) == value)


def field_matcher(expr: str, kind: str) -> Callable[[Obj], bool]:
    checks: list[Callable[[Obj], bool]] = []
    for raw in _split_selector(expr or ""):
        term = raw.strip()
        neg = "!=" in term
        key, value = (x.strip() for x in term.replace("==", "=").replace("!=", "=").split("=", 1))
        if key not in FIELDS:
            raise SelectorError(f"field label not supported: {key}")
        checks.append(_field_term(FIELDS[key], value, neg))
    return lambda obj: all(c(obj) for c in checks)


def select(
    objs: Iterable[Obj], namespace: str | None, label_selector: str, field_selector: str, kind: str
) -> list[Obj]:
    lm, fm = label_matcher(label_selector), field_matcher(field_selector, kind)
    return [
        o
        for o in objs
        if (namespace is None or o["metadata"].get("namespace") == namespace)
        and lm(o["metadata"].get("labels", {}))
        and fm(o)
    ]


@once_cache(maxsize=32)
def list_items_json(
    scn: Scenario, group: str, resource: str, namespace: str | None, label_selector: str, field_selector: str
) -> tuple[str, ...]:
    """The items of a list response, selected and serialized once per (scenario, query).

    A paged list of 20,000 pods is 40+ requests; re-filtering every object and re-encoding each
    page's items per request dominated the server's CPU. Items of a typed list carry no
    apiVersion/kind, as the real apiserver sends them. Raises SelectorError (never cached).
    """
    kind = RESOURCES[(group, resource)].kind
    items = select(objects(scn, group, resource), namespace, label_selector, field_selector, kind)
    return tuple(json.dumps({k: v for k, v in o.items() if k not in ("apiVersion", "kind")}) for o in items)
