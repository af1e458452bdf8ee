"""A real bundle with terminal escape sequences in every piece of text a command could print.

Each JSON string value (except pod names and namespaces, which must be DNS-1123 names), each log
line and each metric label value of `samples/bookinfo.tar.gz` gets `PAYLOAD` appended: OSC 52
(writes the clipboard), OSC 8 (a hidden hyperlink), CSI (clears the screen) in 7-bit and C1
forms, BEL, and rich markup. The manifest gets them too: run errors, a failed artifact's error,
the context and Istio versions. No ESC, BEL or C1 byte may reach a terminal from any of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.hostile import resign

PAYLOAD = (
    "\x1b]52;c;cHduZWQ=\x07"  # OSC 52: set the clipboard to "pwned"
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # OSC 8 hyperlink
    "\x1b[2J\x9b31m\x9d0;title\x9c\x07"  # CSI clear screen; C1 CSI, OSC, ST; BEL
    "[link=https://evil.example/]rich[/link]"
)
UNSAFE = re.compile("[\x1b\x07\x80-\x9f]")  # ESC, BEL, C1 controls (as characters, after decoding UTF-8)
_POD_NAMES = {"name", "namespace"}  # a pod's metadata: the bundle's paths are made of these


def _taint(doc: Any, pod_metadata: bool = False) -> Any:
    if isinstance(doc, str):
        return doc + PAYLOAD
    if isinstance(doc, list):
        return [_taint(v) for v in doc]
    if isinstance(doc, dict):
        return {k: v if pod_metadata and k in _POD_NAMES else _taint(v) for k, v in doc.items()}
    return doc


def _taint_pods(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(
        doc, items=[{k: _taint(v, k == "metadata") for k, v in item.items()} for item in doc["items"]]
    )


def _taint_json(path: str, data: bytes) -> bytes:
    try:
        doc = json.loads(data)
    except ValueError:  # not one document (e.g. istiod's JSON-lines debug output): left as it is
        return data
    tainted = (
        _taint_pods(doc) if path in ("cluster/pods.json", "cluster/pods-after-dumps.json") else _taint(doc)
    )
    return json.dumps(tainted, ensure_ascii=False).encode()  # C1 and bidi characters raw, as JSON allows


def _taint_text(path: str, data: bytes) -> bytes:
    text = data.decode()
    if path.endswith("metrics.txt"):
        text = re.sub(r'="([^"]*)"', lambda m: '="' + m.group(1) + PAYLOAD.replace("\\", "\\\\") + '"', text)
    else:
        text = "".join(line + PAYLOAD + "\n" for line in text.splitlines())
    return text.encode()


def _manifest(doc: dict[str, Any]) -> None:
    doc["context"] = "ctx" + PAYLOAD
    doc["istio_versions"] = [v + PAYLOAD for v in doc["istio_versions"]]
    doc["errors"] = ["run error" + PAYLOAD]
    doc["complete"] = False
    doc["artifacts"].append(
        dict(doc["artifacts"][0], path="istio/events.json", input="istio-events", status="error",
             error="HTTP 500" + PAYLOAD, stored=False, bytes=0, sha256=None)
    )  # fmt: skip


def write(out: Path) -> Path:
    """Write the escape-laden bundle to `out`."""
    files = resign.members()
    tainted = {}
    for path, data in files.items():
        if path == "manifest.json" or path == "istio/events.json":
            tainted[path] = data
        elif path.endswith(".json"):
            tainted[path] = _taint_json(path, data)
        else:
            tainted[path] = _taint_text(path, data)
    del tainted["istio/events.json"]  # replaced by a failed artifact whose error carries escapes

    def edit(doc: dict[str, Any]) -> None:
        doc["artifacts"] = [a for a in doc["artifacts"] if a["path"] != "istio/events.json"]
        _manifest(doc)

    return resign.write(tainted, out, edit)
