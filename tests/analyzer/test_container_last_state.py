"""kube.pod: the previous run's termination reason (lastState.terminated.reason) reaches the model."""

from __future__ import annotations

from analyzer.parse import kube


def _pod(status: dict[str, object]) -> dict[str, object]:
    return {"metadata": {"name": "ztunnel-a", "namespace": "istio-system"}, "status": status}


def test_last_terminated_reason_is_parsed_next_to_the_current_state() -> None:
    pod = kube.pod(
        _pod(
            {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "istio-proxy",
                        "restartCount": 2,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                    }
                ],
            }
        )
    )
    (c,) = pod.containers
    assert (c.state, c.reason, c.last_reason, c.restarts) == ("waiting", "CrashLoopBackOff", "OOMKilled", 2)


def test_no_last_state_means_none() -> None:
    pod = kube.pod(_pod({"containerStatuses": [{"name": "c", "state": {"running": {}}, "lastState": {}}]}))
    assert pod.containers[0].last_reason is None
