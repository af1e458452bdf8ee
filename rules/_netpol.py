"""Which NetworkPolicies restrict a pod's ingress (shared by the NetworkPolicy rules)."""

from analyzer.model import Bundle, NetworkPolicy, Pod


def ingress_policies(bundle: Bundle, pod: Pod) -> list[NetworkPolicy]:
    """The policies selecting the pod for Ingress: together, only what one of their rules admits gets in."""
    return [
        np for np in bundle.network_policies if np.restricts_ingress and np.selects(pod.namespace, pod.labels)
    ]
