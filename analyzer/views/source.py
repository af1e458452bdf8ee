"""Open a bundle for the view commands: files, model, and one-line errors for absent inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analyzer.bundle import BundleFiles, open_bundle
from analyzer.errors import BundleError, NotCollected
from analyzer.load import load_bundle, load_index
from analyzer.model import Bundle, Status, Ztunnel
from ztbundle import layout


@dataclass(slots=True)
class Source:
    """A bundle's files, with its model loaded on first use: whole (`model`) or as an `index`."""

    files: BundleFiles
    _model: Bundle | None = None
    _index: Bundle | None = None

    @property
    def path(self) -> Path:
        return self.files.path

    @property
    def model(self) -> Bundle:
        """Every ztunnel and istiod parsed (what drift, traffic and logs views need)."""
        if self._model is None:
            self._model = load_bundle(self.files)
        return self._model

    @property
    def index(self) -> Bundle:
        """The model if loaded, else the cluster lists and ztunnel pods with no dump parsed."""
        if self._model is not None:
            return self._model
        if self._index is None:
            self._index = load_index(self.files)
        return self._index

    def member(self, member: str, what: str) -> bytes:
        """The member's bytes, else NotCollected `<bundle>:<member>: no <what> was collected: <why>`."""
        a = self.index.manifest.artifacts.get(member)
        if a is not None and a.status is Status.OK and a.stored and self.files.has(member):
            return self.files.read(member)
        if a is None:
            reason = "not in the manifest"
        elif a.status is Status.OK:
            reason = "listed as collected but missing from the archive"
        else:
            reason = f"{a.status.value}: {a.error}" if a.error else a.status.value
        raise NotCollected(self.path, member, f"no {what} was collected: {reason}")

    def ztunnel(
        self, name: str | None = None, node: str | None = None, *, parsed: bool = False
    ) -> tuple[Ztunnel, str]:
        """The ztunnel a view shows, and why it was chosen (for stderr); `parsed` loads the whole model.

        Without a name or node this mirrors istioctl's `daemonset/ztunnel` target with a stable
        rule: the first ztunnel by pod name that is ready and has a collected config_dump, else
        the first with a dump, else the first at all (whose missing dump then names the reason).
        """
        model = self.model if parsed else self.index
        zts = sorted(model.ztunnels, key=lambda z: z.name)
        if not zts:
            raise BundleError(self.path, layout.PODS, "no ztunnel pods in the bundle")
        names = ", ".join(z.name for z in zts)
        if name:
            found = next((z for z in zts if z.name == name), None)
            if found is None:
                raise BundleError(self.path, None, f"no ztunnel named {name!r} in the bundle (have: {names})")
            return found, f"ztunnel {found.name} (--ztunnel)"
        if node:
            on = model.ztunnel_on(node)
            if on is None:
                nodes = ", ".join(sorted({z.node or "?" for z in zts}))
                raise BundleError(self.path, None, f"no ztunnel on node {node!r} (ztunnel nodes: {nodes})")
            return on, f"ztunnel {on.name} on node {node} (--node)"
        usable = [z for z in zts if self._has_dump(z)]
        ready = [z for z in usable if z.ready]
        pick = (ready or usable or zts)[0]
        why = "first ready" if ready else ("first with a config_dump" if usable else "first")
        return pick, f"ztunnel {pick.name} on node {pick.node or '?'} ({why} of {len(zts)} by name)"

    def _has_dump(self, z: Ztunnel) -> bool:
        a = self.index.manifest.artifacts.get(z.config_dump_path)
        return a is not None and a.status is Status.OK and a.stored and self.files.has(a.path)


def open_source(path: Path | str) -> Source:
    """Read and validate a bundle (BundleError names the bundle and member on any problem)."""
    return Source(open_bundle(path))
