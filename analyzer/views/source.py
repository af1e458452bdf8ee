"""Open a bundle for the view commands: files, model, and one-line errors for absent inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analyzer.bundle import BundleFiles, open_bundle
from analyzer.load import load_bundle
from analyzer.model import Bundle, Status, Ztunnel
from ztbundle import layout
from ztbundle.errors import BundleError


@dataclass(frozen=True, slots=True)
class Source:
    files: BundleFiles
    model: Bundle

    @property
    def path(self) -> Path:
        return self.files.path

    def member(self, member: str, what: str) -> bytes:
        """The member's bytes, else BundleError `<bundle>:<member>: no <what> was collected: <why>`."""
        a = self.model.manifest.artifacts.get(member)
        if a is not None and a.status is Status.OK and a.stored and self.files.has(member):
            return self.files.read(member)
        if a is None:
            reason = "not in the manifest"
        elif a.status is Status.OK:
            reason = "listed as collected but missing from the archive"
        else:
            reason = f"{a.status.value}: {a.error}" if a.error else a.status.value
        raise BundleError(self.path, member, f"no {what} was collected: {reason}")

    def ztunnel(self, name: str | None = None, node: str | None = None) -> tuple[Ztunnel, str]:
        """The ztunnel a view shows, and why it was chosen (for stderr).

        Without a name or node this mirrors istioctl's `daemonset/ztunnel` target with a stable
        rule: the first ztunnel by pod name that is ready and has a collected config_dump, else
        the first with a dump, else the first at all (whose missing dump then names the reason).
        """
        zts = sorted(self.model.ztunnels, key=lambda z: z.name)
        if not zts:
            raise BundleError(self.path, layout.PODS, "no ztunnel pods in the bundle")
        names = ", ".join(z.name for z in zts)
        if name:
            found = next((z for z in zts if z.name == name), None)
            if found is None:
                raise BundleError(self.path, None, f"no ztunnel named {name!r} in the bundle (have: {names})")
            return found, f"ztunnel {found.name} (--ztunnel)"
        if node:
            on = self.model.ztunnel_on(node)
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
        a = self.model.manifest.artifacts.get(z.config_dump_path)
        return a is not None and a.status is Status.OK and a.stored and self.files.has(a.path)


def open_source(path: Path | str) -> Source:
    """Read, validate and model a bundle (BundleError names the bundle and member on any problem)."""
    files = open_bundle(path)
    return Source(files, load_bundle(files))
