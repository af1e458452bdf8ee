"""List every pod again once every ztunnel dump has landed: the second witness that a pod is gone.

A workload in a ztunnel's dump whose pod is in neither this list nor `cluster/pods.json` did not
exist when this list was read, after the dump: the ztunnel holds a pod that is gone, however long
the dumps took. A pod created after the first list shows up here instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from collector.body import Body
from collector.context import StepContext
from collector.discovery import Plan
from collector.steps import Item, Source, SourceKind, Step
from ztbundle import layout
from ztbundle.layout import Input

NAME = "cluster.pods-after-dumps"
API_PATH = "/api/v1/pods"
# Names, namespaces and uids are all this list is for: the apiserver's metadata-only form is a tenth
# of a full pod list. A server that cannot send it answers with the plain PodList, which reads the same.
ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
# Metadata is a quarter to half of a pod (managedFields included), so a page of this many carries
# about the bytes of a 500-pod page (kubectl's chunk size, which every other list keeps) in a quarter
# of the round trips: this list starts after the last dump, which at 1,000 nodes is the end of the
# run, so each of its round trips there is wall time.
PAGE_SIZE = 2000


def items(plan: Plan) -> Iterator[Item]:
    yield Item(
        step=NAME,
        path=layout.PODS_AFTER_DUMPS,
        input=Input.PODS_AFTER_DUMPS,
        source=Source(
            SourceKind.API,
            f"GET {API_PATH}?limit={PAGE_SIZE} (following continue), metadata only, after the dumps",
        ),
        action="list pods in all namespaces",
        target=API_PATH,
        query=(("paged", "true"),),
    )


def fetch(ctx: StepContext, item: Item) -> Body:
    return ctx.list_merged(item.target, accept=ACCEPT, page_size=PAGE_SIZE)


STEP = Step(name=NAME, items=items, fetch=fetch, after_earlier=True)
