"""Property: any mutation of a real bundle makes every bundle command succeed or fail in one line.

The base is a bundle the real collector wrote against the fake `bookinfo` cluster. Hypothesis
mutates it at every layer (gzip bytes, tar stream, member bytes, JSON structure, manifest) and
re-signs the manifest's sizes and digests in most member mutations, so examples get past the
integrity check into the parsers, the loader, the rules and the views. Each example runs one
command drawn from `ztbundle.cli.COMMANDS` (all but `collect`), in-process, under a hard time
limit. Allowed: exit 0/1, or exit 3 with exactly one `ztbundle: error:` line as the last line of
stderr. A traceback, any other code, or a hang fails with the command line and the exception.

    ZTBUNDLE_FUZZ_EXAMPLES=10000 ZTBUNDLE_FUZZ_LOG=fuzz.log nice .venv/bin/python -m pytest \
        tests/security/test_fuzz.py -q -k mutated --hypothesis-seed=1
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import tarfile
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from ztbundle import cli, layout
from ztbundle.exits import Exit

EXAMPLES = int(os.environ.get("ZTBUNDLE_FUZZ_EXAMPLES", "60"))
LOG = os.environ.get("ZTBUNDLE_FUZZ_LOG")  # append one line per example checked (campaigns)
HANG_S = int(os.environ.get("ZTBUNDLE_FUZZ_HANG_S", "60"))  # a real hang, not a slow machine
# USAGE: a --ztunnel/--node the (mutated) bundle no longer has; NOT_COLLECTED: a view's input is absent.
ALLOWED = {Exit.OK, Exit.FINDINGS, Exit.USAGE, Exit.BAD_INPUT, Exit.NOT_COLLECTED}
ONE_LINE_ERRORS = {Exit.USAGE, Exit.BAD_INPUT, Exit.NOT_COLLECTED}
BUNDLE_ARGS = {"bundle", "old", "new"}
HUGE = "__ztbundle_fuzz_huge__"  # replaced after json.dumps: Python cannot format such an int
BIG_FLOAT = "__ztbundle_fuzz_1e999__"  # replaced after json.dumps by 1e999 (a float that overflows)
ESCAPES = (
    "\x1b]52;c;cHduZWQ=\x07\x1b]8;;https://evil.example/\x1b\\x\x1b[2J\x9b31m[link=https://e.example]y[/link]"
)
UNSAFE = re.compile("[\x1b\x07\x80-\x9f]")  # ESC, BEL, C1: none may reach the terminal


# --- the base bundle -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Base:
    members: tuple[tuple[str, bytes], ...]  # in archive order, the manifest last
    manifest: dict[str, Any]
    ztunnels: tuple[str, ...]
    nodes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Base({len(self.members)} members, ztunnels={self.ztunnels})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints failing arguments
        printer.text(repr(self))


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """One bundle from the REAL collector against the fake bookinfo cluster, read into memory."""
    from tests.fakecluster import FakeCluster, scenarios

    out = tmp_path_factory.mktemp("fuzzbase") / "bookinfo.tar.gz"
    with FakeCluster(scenarios.bookinfo()) as fc:
        rc = cli.main(
            ["collect", "--kubeconfig", str(fc.kubeconfig), "--context", fc.context, "--out-file", str(out)]
        )
    assert rc in (Exit.OK, Exit.INCOMPLETE) and out.exists()
    with tarfile.open(out, "r:gz") as tar:
        members = tuple((i.name, tar.extractfile(i).read()) for i in tar if i.isfile())  # type: ignore[union-attr]
    manifest = json.loads(dict(members)[layout.MANIFEST])
    ztunnels = tuple(sorted({n.split("/")[1] for n, _ in members if n.startswith("ztunnel/")}))
    pods = json.loads(dict(members)[layout.PODS])
    nodes = tuple(sorted({p["spec"].get("nodeName", "") for p in pods["items"]} - {""}))
    return Base(members, manifest, ztunnels, nodes)


# --- commands, discovered ----------------------------------------------------------------------


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def bundle_commands() -> list[str]:
    """Every registered command that reads a bundle (a positional named bundle/old/new)."""
    subs = _subparsers()
    return [
        name
        for name in cli.COMMANDS
        if name != "collect"
        and any(a.dest in BUNDLE_ARGS for a in subs[name]._actions if not a.option_strings)
    ]


def _choices(action: argparse.Action) -> list[str]:
    if action.choices is not None:
        return [str(c) for c in action.choices]
    meta = action.metavar if isinstance(action.metavar, str) else ""
    m = re.fullmatch(r"\{(.+)\}", meta)
    return m.group(1).split(",") if m else []


def build_argv(
    data: st.DataObject, name: str, bundle: Path, pristine: Path, work: Path, base: Base
) -> list[str]:
    """Fill a command's arguments: bundles, a fresh output place, and drawn choices and flags."""
    sub = _subparsers()[name]
    argv = [name]
    old_is_mutated = data.draw(st.booleans(), label="diff: mutated bundle is OLD")
    for a in sub._actions:
        if a.option_strings:
            continue
        if (
            a.dest == "bundle"
            or (a.dest == "old" and old_is_mutated)
            or (a.dest == "new" and not old_is_mutated)
        ):
            argv.append(str(bundle))
        elif a.dest in ("old", "new"):
            argv.append(str(pristine))
        elif a.dest == "dir":
            argv.append(str(work / "extracted"))
        elif _choices(a):
            argv.append(data.draw(st.sampled_from(_choices(a)), label=f"{name} {a.dest}"))
        else:
            pytest.fail(
                f"fuzz harness: no value for positional {a.dest!r} of `ztbundle {name}`; teach build_argv"
            )
    exclusive = {id(a): g for g in sub._mutually_exclusive_groups for a in g._group_actions}
    used_groups: set[int] = set()
    for a in sub._actions:
        opt = next((o for o in a.option_strings if o.startswith("--")), None)
        if (
            opt is None
            or a.help == argparse.SUPPRESS
            or a.dest in ("help", "rules_dir", "limit_scale", "now")
        ):
            continue
        group = exclusive.get(id(a))
        if group is not None and id(group) in used_groups:
            continue  # argparse would stop at a usage error (exit 2) before reading the bundle
        before = len(argv)
        if a.dest in ("ztunnel", "node"):
            known = base.ztunnels if a.dest == "ztunnel" else base.nodes
            if a.required or data.draw(st.booleans(), label=opt):
                argv += [opt, data.draw(st.sampled_from([*known, "nope"]), label=opt)]
        elif a.dest in ("source", "target"):  # trace's --from POD / --to TARGET: pods of the bundle
            names = base.ztunnels if a.dest == "source" else [*base.ztunnels, "default/kubernetes:443"]
            argv += [opt, data.draw(st.sampled_from(names), label=opt)]
        elif a.dest == "out_file":
            argv += [opt, str(work / "report.out")]
        elif isinstance(a, argparse._StoreTrueAction):
            if data.draw(st.booleans(), label=opt):
                argv.append(opt)
        elif _choices(a):
            value = data.draw(st.sampled_from([None, *_choices(a)]), label=opt)
            if value is not None:
                argv += [opt, value]
        elif a.required:
            pytest.fail(f"fuzz harness: no value for required {opt} of `ztbundle {name}`; teach build_argv")
        if group is not None and len(argv) > before:
            used_groups.add(id(group))
    return argv


# --- mutations -------------------------------------------------------------------------------


def _flip(data: st.DataObject, raw: bytes, label: str) -> bytes:
    if not raw:
        return raw
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8), label=f"{label} flips")):
        pos = data.draw(st.integers(0, len(buf) - 1), label=f"{label} byte")
        buf[pos] ^= 1 << data.draw(st.integers(0, 7), label=f"{label} bit")
    return bytes(buf)


def _deep(depth: int) -> Any:
    node: Any = []
    for _ in range(depth):
        node = [node]
    return node


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**30, 1e308, -0.0, float("nan"), float("inf"), HUGE]),
    st.text(max_size=12),
    st.sampled_from(["", "-1", "1.2.3.4", "::1", "2026-13-45T99:99:99Z", "\u202e<script>", "\x00"]),
    st.sampled_from(["2026-02-30T00:00:00Z", "Evil_Z", "a\ud800b", "\udc00", ESCAPES, BIG_FLOAT]),
    st.builds(list),  # fresh objects: a shared st.just({}) would be mutated across examples
    st.builds(dict),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.integers(40, 200).map(_deep),
)


def _mutate_json(data: st.DataObject, doc: Any, label: str) -> Any:
    """Walk a random path into the document and replace, delete, add or duplicate there."""
    holder = [doc]
    parent: Any = holder
    key: Any = 0
    for _ in range(data.draw(st.integers(0, 10), label=f"{label} depth")):
        node = parent[key]
        if isinstance(node, dict) and node:
            parent, key = node, data.draw(st.sampled_from(sorted(node)), label=f"{label} key")
        elif isinstance(node, list) and node:
            parent, key = node, data.draw(st.integers(0, len(node) - 1), label=f"{label} index")
        else:
            break
    op = data.draw(st.sampled_from(["replace", "delete", "extra", "duplicate"]), label=f"{label} op")
    target = parent[key]
    if op == "replace" or parent is holder:
        parent[key] = data.draw(ODD_VALUES, label=f"{label} value")
    elif op == "delete":
        del parent[key]
    elif op == "extra" and isinstance(target, dict):
        target[data.draw(st.text(max_size=8), label=f"{label} new key")] = data.draw(ODD_VALUES)
    elif op == "extra" and isinstance(target, list):
        target.append(data.draw(ODD_VALUES, label=f"{label} new item"))
    elif isinstance(parent, list):
        parent.insert(key, copy.deepcopy(target))  # duplicate an entry (same uid, same name twice)
    return holder[0]


def _dump(data: st.DataObject, doc: Any, label: str) -> bytes:
    indent = data.draw(st.sampled_from([None, 2]), label=f"{label} indent")
    text = json.dumps(doc, indent=indent, ensure_ascii=data.draw(st.booleans(), label=f"{label} ascii"))
    return (
        text.replace(f'"{HUGE}"', "9" * 5000)
        .replace(f'"{BIG_FLOAT}"', "1e999")
        .encode("utf-8", "surrogatepass")
    )


def _mutate_member(data: st.DataObject, name: str, body: bytes) -> bytes:
    op = data.draw(
        st.sampled_from(
            ["json", "json", "json", "truncate", "bitflip", "empty", "append", "deep", "escapes", "objects"]
        ),
        label=f"{name} op",
    )
    if op == "json":
        try:
            doc = json.loads(body)
        except ValueError:
            op = "bitflip"
        else:
            for i in range(data.draw(st.integers(1, 3), label=f"{name} edits")):
                doc = _mutate_json(data, doc, f"{name} edit {i}")
            return _dump(data, doc, name)
    if op == "truncate":
        return body[: data.draw(st.integers(0, max(len(body) - 1, 0)), label=f"{name} cut")]
    if op == "bitflip":
        return _flip(data, body, name)
    if op == "empty":
        return b""
    if op == "append":
        return body + data.draw(st.binary(min_size=1, max_size=40), label=f"{name} tail")
    if op == "escapes":  # raw in text members, JSON-escaped or raw (C1) in JSON strings
        return body.replace(b"\n", ESCAPES.encode() + b"\n").replace(
            b'":"', b'":"' + _json_escapes(data, name)
        )
    if op == "objects":
        return b"[" + b"{}," * data.draw(st.integers(1, 200_000), label=f"{name} objects") + b"{}]"
    return b"[" * 5000 + body + b"]" * 5000


def _json_escapes(data: st.DataObject, name: str) -> bytes:
    return json.dumps(ESCAPES, ensure_ascii=data.draw(st.booleans(), label=f"{name} ascii"))[1:-1].encode()


def _resign(manifest: dict[str, Any], members: dict[str, bytes], changed: set[str]) -> None:
    for a in manifest.get("artifacts", []):
        if isinstance(a, dict) and a.get("path") in changed:
            body = members[a["path"]]
            a.update(bytes=len(body), sha256=hashlib.sha256(body).hexdigest(), stored=True)


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), 0o600, 1767268800
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def _mutate_recipe(data: st.DataObject, manifest: dict[str, Any], members: dict[str, bytes]) -> str:
    """Repeat, drop or reorder a format-2 recipe's pieces, keeping `bytes` consistent (a recipe bomb)."""
    recipes = [a for a in manifest["artifacts"] if a.get("storage") == "recipe"]
    if not recipes:
        return " (no recipe)"
    a = data.draw(st.sampled_from(recipes), label="recipe")
    op = data.draw(st.sampled_from(["repeat", "drop", "reverse", "many"]), label="recipe op")
    pieces = list(a["pieces"])
    if op == "repeat":
        pieces = pieces * data.draw(st.integers(2, 2000), label="recipe repeats")
    elif op == "drop":
        pieces = pieces[1:]
    elif op == "reverse":
        pieces.reverse()
    else:  # every recipe points at the first one's pieces, many times over
        for other in recipes:
            other["pieces"] = pieces * data.draw(st.integers(1, 300), label="recipe copies")
            other["bytes"] = sum(len(members[layout.object_member(d)]) for d in other["pieces"])
        return f" {op}"
    a["pieces"] = pieces
    a["bytes"] = sum(len(members[layout.object_member(d)]) for d in pieces)
    return f" {op} {a['path']}"


def _rename(
    data: st.DataObject, manifest: dict[str, Any], members: dict[str, bytes], order: list[str]
) -> str:
    """Give one member and its artifact a path whose pod segment is not a DNS-1123 name."""
    names = sorted(n for n in members if n.count("/") >= 2 and not n.startswith("objects/"))
    old = data.draw(st.sampled_from(names), label="renamed")
    parts = old.split("/")
    parts[1] = data.draw(st.sampled_from(["Evil_Z", "UPPER", "a_b", "-x", "x" * 300]), label="new segment")
    new = "/".join(parts)
    members[new] = members.pop(old)
    order[order.index(old)] = new
    for a in manifest["artifacts"]:
        if a["path"] == old:
            a["path"] = new
    return f" {old} -> {new}"


def _pax_record(field: bytes) -> bytes:
    length = len(field) + 2  # the space and the newline
    length += len(str(length + len(str(length))))
    return b"%d %s\n" % (length, field)


def _framing(data: st.DataObject, raw: bytes) -> tuple[bytes, str]:
    """Header records and trailing data: what tarfile reads before, or never reaches, the members."""
    op = data.draw(
        st.sampled_from(
            ["second gzip member", "after end", "pax digits", "pax junk", "longname", "pax size"]
        ),
        label="framing",
    )
    end = len(raw.rstrip(b"\0"))
    body, tail = raw[: end + (-end % 512)], b"\0" * 1024
    if op == "second gzip member":
        return raw, op
    if op == "after end":
        return body + tail + _tar([("cluster/smuggled.json", b"{}")]), op
    kind = tarfile.GNUTYPE_LONGNAME if op == "longname" else tarfile.XHDTYPE
    size = data.draw(st.integers(1, 200_000), label="record size")
    record = {
        "pax digits": b"9" * size,
        "pax junk": data.draw(st.binary(min_size=1, max_size=600), label="pax bytes"),
        "longname": b"a" * size,
        "pax size": _pax_record(b"size=%d" % size),
    }[op]
    info = tarfile.TarInfo("././@LongLink")
    info.type, info.size = kind, len(record)
    header = info.tobuf(tarfile.USTAR_FORMAT) + record + b"\0" * (-len(record) % 512)
    return header + body + tail, op


def mutate(data: st.DataObject, base: Base) -> tuple[bytes, str]:
    """A mutated bundle (the .tar.gz bytes) and a short description of what was done."""
    kind = data.draw(
        st.sampled_from(
            ["member", "member", "member", "manifest", "reorder", "tar", "gzip-cut", "gzip-flip"]
            + ["recipe", "rename", "framing"]
        ),
        label="kind",
    )
    members = dict(base.members)
    manifest = json.loads(json.dumps(base.manifest))
    order = [n for n, _ in base.members]
    what = kind
    if kind == "member":
        names = sorted(n for n in members if n != layout.MANIFEST)
        picked = data.draw(
            st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True), label="members"
        )
        for name in picked:
            members[name] = _mutate_member(data, name, members[name])
        if data.draw(st.integers(0, 3), label="re-sign") > 0:  # mostly: reach the parsers
            _resign(manifest, members, set(picked))
            what += " re-signed"
        what += f" {picked}"
    elif kind == "manifest":
        for i in range(data.draw(st.integers(1, 3), label="manifest edits")):
            manifest = _mutate_json(data, manifest, f"manifest edit {i}")
    elif kind == "reorder":
        random.Random(data.draw(st.integers(0, 2**32), label="shuffle seed")).shuffle(order)
    elif kind == "recipe":
        what += _mutate_recipe(data, manifest, members)
    elif kind == "rename":
        what += _rename(data, manifest, members, order)
    members[layout.MANIFEST] = (
        _dump(data, manifest, "manifest") if kind == "manifest" else (json.dumps(manifest, indent=2).encode())
    )
    raw = _tar([(n, members[n]) for n in order])
    if kind == "tar":
        raw = _flip(data, raw, "tar")
    if kind == "framing":
        raw, extra = _framing(data, raw)
        what += f" {extra}"
    gz = gzip.compress(raw, compresslevel=1, mtime=0)
    if kind == "framing" and extra == "second gzip member":
        gz += gzip.compress(_tar([("cluster/smuggled.json", b"{}")]), mtime=0)
    if kind == "gzip-cut":
        gz = gz[: data.draw(st.integers(0, len(gz) - 1), label="gzip cut")]
    elif kind == "gzip-flip":
        gz = _flip(data, gz, "gzip")
    return gz, what


# --- running a command under a hard time limit ----------------------------------------------


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def fire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int
    stderr: str
    stdout: str = ""


def run_cli(argv: list[str]) -> Outcome:
    """`main(argv)` with stdout (text and .buffer) and stderr captured; any escape fails the test."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="replace")
    err = io.StringIO()
    try:
        with time_limit(HANG_S), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    except Hang as exc:
        pytest.fail(f"`ztbundle {' '.join(argv)}` hung: {exc}")
    except BaseException:  # noqa: BLE001 - anything escaping main() is the bug this test hunts
        pytest.fail(
            f"`ztbundle {' '.join(argv)}` raised:\n{traceback.format_exc()}\nstderr:\n{err.getvalue()}"
        )
    out.flush()
    return Outcome(code, err.getvalue(), out.buffer.getvalue().decode("utf-8", "replace"))


def check_outcome(argv: list[str], outcome: Outcome, what: str) -> None:
    where = f"`ztbundle {' '.join(argv)}` on a bundle mutated by {what}"
    assert "Traceback" not in outcome.stderr, f"{where}: {outcome.stderr}"
    assert outcome.code in ALLOWED, f"{where}: exit {outcome.code}: {outcome.stderr}"
    for stream in (outcome.stdout, outcome.stderr):
        leak = UNSAFE.search(stream)
        assert leak is None, (
            f"{where}: a terminal escape reached the output: {stream[max(0, leak.start() - 60) :][:120]!r}"
        )
    lines = outcome.stderr.splitlines()
    errors = [ln for ln in lines if ln.startswith("ztbundle: error: ")]
    if outcome.code in ONE_LINE_ERRORS:
        assert len(errors) == 1 and lines[-1] == errors[0], f"{where}: {outcome.stderr}"
    else:
        assert errors == [], f"{where}: {outcome.stderr}"


# --- the tests -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ztbundle-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pristine(base: Base, work: Path) -> Path:
    path = work / "pristine.tar.gz"
    path.write_bytes(gzip.compress(_tar(list(base.members)), mtime=0))
    return path


def test_every_bundle_command_is_fuzzed() -> None:
    """Discovery finds the commands (so a new view is fuzzed without anyone editing this file)."""
    found = bundle_commands()
    assert {"analyze", "ztunnel-config", "extract"} <= set(found) and "collect" not in found


@pytest.mark.parametrize("name", bundle_commands())
def test_each_command_accepts_the_unmutated_bundle(name: str, base: Base, pristine: Path, work: Path) -> None:
    """The harness itself is sound: on the base bundle every command exits 0 or 1, quietly."""
    data = _Fixed()
    argv = build_argv(data, name, pristine, pristine, work, base)  # type: ignore[arg-type]
    outcome = run_cli(argv)
    assert outcome.code in (Exit.OK, Exit.FINDINGS), f"{argv}: {outcome.stderr}"
    assert "error" not in outcome.stderr.lower(), outcome.stderr


class _Fixed:
    """A stand-in for hypothesis' data object: always the first choice, so no optional flag is set."""

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        elements = getattr(strategy, "elements", None)  # sampled_from (and booleans: [False, True])
        return elements[0] if elements else False


@settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=HANG_S // 2),
    database=None,
    phases=[Phase.generate, Phase.shrink],  # 'explain' reruns a failure hundreds of times
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data())
def test_mutated_bundles_succeed_or_fail_in_one_line(
    data: st.DataObject, base: Base, pristine: Path, work: Path
) -> None:
    gz, what = mutate(data, base)
    bundle = work / "mutated.tar.gz"
    bundle.write_bytes(gz)
    shutil.rmtree(work / "extracted", ignore_errors=True)
    name = data.draw(st.sampled_from(bundle_commands()), label="command")
    argv = build_argv(data, name, bundle, pristine, work, base)
    outcome = run_cli(argv)
    check_outcome(argv, outcome, what)
    if LOG:  # a long campaign's progress, readable while it runs
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(f"{name}\t{outcome.code}\t{what[:80]}\n")
    event(f"exit {outcome.code} after {what.split()[0]}{' re-signed' if 're-signed' in what else ''}")
    event(f"{name}: exit {outcome.code}")
