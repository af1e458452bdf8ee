"""What a step may use: the plan, per-thread API clients and bounded fetch helpers.

Helpers raise on failure (ApiException, timeouts, `StepFailed` with the body kept for non-2xx
admin replies); the runner turns those into manifest statuses.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from collector import redact, redact_text
from collector.body import Body
from collector.discovery import PAGE, Plan, list_pages
from collector.failures import StepFailed, status_message
from collector.kube import ClientPool, api_get, port_forward_get
from collector.targets import PodRef
from ztbundle.layout import Status

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from collector.transport import PortForwarder


_PAGING = ("continue", "remainingItemCount")


class MergedList(Body):
    """A List this tool serialised itself, page by page: valid JSON by construction, already redacted."""

    __slots__ = ("redacted",)

    def __init__(self) -> None:
        super().__init__()
        self.redacted: Counter[tuple[redact_text.Reason, str | None]] = Counter()


@dataclass(frozen=True, slots=True)
class StepContext:
    """Shared, read-only state for steps; the only mutable part is the per-thread client pool."""

    plan: Plan
    clients: ClientPool
    forwarder: PortForwarder | None = None  # None: the client's WebSocket port-forward only

    @property
    def timeout_s(self) -> float:
        return self.plan.options.timeout_s

    def api(self) -> ApiClient:
        return self.clients.get()

    def api_get(self, path: str, query: tuple[tuple[str, str], ...] = ()) -> Body:
        """GET an API path; the body is returned exactly as the server sent it."""
        return api_get(
            self.api(), path, query, timeout_s=self.timeout_s, max_bytes=self.plan.options.max_bytes
        )

    def list_merged(
        self,
        path: str,
        query: tuple[tuple[str, str], ...] = (),
        accept: str = "application/json",
        page_size: int = PAGE,
    ) -> MergedList:
        """Fetch every page of a List and write one List holding all items (no `continue`).

        Each page is redacted and serialised as soon as it is parsed, straight into a body that spools
        to disk, so one page of objects is alive at a time: a 20,000-pod cluster's pod list never sits
        in memory whole, as bytes or as objects, and is never parsed a second time.
        """
        out = MergedList()
        written = 0  # items so far; a page may hold none (a selective list can page through empties)
        for page in list_pages(
            self.api(),
            path,
            list(query),
            timeout_s=self.timeout_s,
            max_bytes=self.plan.options.max_bytes,
            accept=accept,
            page_size=page_size,
        ):
            items, hits = redact.redact_page(page)
            out.redacted.update(hits)
            if out.size == 0:  # the first page's head, as a new dict: `list_pages` still reads `continue`
                head = dict(page)
                head["metadata"] = {k: v for k, v in (page.get("metadata") or {}).items() if k not in _PAGING}
                head["items"] = []
                text = json.dumps(head, separators=(",", ":")).encode("utf-8")
                assert text.endswith(b"[]}")
                out.write(text[:-2])
            for obj in items:
                out.write((b"," if written else b"") + json.dumps(obj, separators=(",", ":")).encode("utf-8"))
                written += 1
            del items
        out.write(b"]}")
        return out

    def pod_log(self, pod: PodRef, container: str, *, previous: bool) -> Body:
        """Read a container log (since `--since` when given) as raw bytes."""
        query: list[tuple[str, str]] = [("container", container)]
        if previous:
            query.append(("previous", "true"))
        if self.plan.options.since_s:
            query.append(("sinceSeconds", str(self.plan.options.since_s)))
        path = f"/api/v1/namespaces/{quote(pod.namespace)}/pods/{quote(pod.name)}/log"
        return api_get(
            self.api(),
            path,
            query,
            timeout_s=self.timeout_s,
            max_bytes=self.plan.options.max_bytes,
            accept="text/plain, */*",
        )

    def admin_get(self, pod: PodRef, port: int, path: str) -> Body:
        """GET an admin endpoint over a port-forward; a non-2xx reply raises with its body kept."""
        forward = self.forwarder.get if self.forwarder is not None else port_forward_get
        reply = forward(
            self.api(),
            pod.namespace,
            pod.name,
            port,
            path,
            timeout_s=self.timeout_s,
            max_bytes=self.plan.options.max_bytes,
        )
        if not 200 <= reply.status <= 299:
            detail = status_message(reply.body.read_bytes())
            message = f"HTTP {reply.status} {reply.reason}" + (f": {detail}" if detail else "")
            raise StepFailed(Status.ERROR, message, reply.body)
        return reply.body
