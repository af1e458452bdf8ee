"""Builders for the corpus's framing attacks: header records, gzip members and bytes past the end.

They hand-assemble the raw tar stream (`tests.hostile.corpus._raw_tar` writes only well-formed
entries), so each bundle carries exactly one defect in its framing and is benign otherwise.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib

from tests.hostile import corpus

MiB = 1024 * 1024


def _header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, 0o600, 1767268800
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def _pax(records: bytes) -> bytes:
    return _header("././@PaxHeader", tarfile.XHDTYPE, len(records)) + _pad(records)


def _benign_entries() -> bytes:
    """The benign bundle's uncompressed tar stream without its end marker."""
    whole = gzip.decompress(corpus.benign())
    end = len(whole.rstrip(b"\0"))
    return whole[: end + (-end % 512)]


def record_bomb(kind: bytes, size: int) -> bytes:
    """A long-name or PAX record of `size` bytes (zeros, compressed away) ahead of the benign members."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = io.BytesIO()
    out.write(comp.compress(_header("././@LongLink", kind, size)))
    chunk = b"\0" * MiB
    for _ in range(size // MiB):
        out.write(comp.compress(chunk))
    out.write(comp.compress(b"\0" * (size % MiB + (-size % 512))))
    out.write(comp.compress(_benign_entries() + b"\0" * 1024))
    out.write(comp.flush())
    return out.getvalue()


def pax_digits(count: int) -> bytes:
    """A well-formed PAX record whose value is `count` digits: the input CVE-2024-6232 is slow on."""
    value = b"comment=" + b"7" * count
    length = len(value) + 2
    length += len(str(length + len(str(length))))
    record = b"%d %s\n" % (length, value)
    assert len(record) == length
    return corpus._gz(_pax(record) + _benign_entries() + b"\0" * 1024)


def pax_malformed() -> bytes:
    """A PAX record whose length prefix is a run of digits with no record after it."""
    return corpus._gz(_pax(b"9" * 60 + b"\n") + _benign_entries() + b"\0" * 1024)


def second_gzip_member() -> bytes:
    """A benign bundle followed by another gzip member: `tar xzf` unpacks both, tarfile reads one."""
    hidden = corpus._raw_tar(
        [
            ("cluster/services.json", tarfile.SYMTYPE, b"", {"linkname": "/etc/passwd"}),
            ("cluster/smuggled.json", tarfile.REGTYPE, b"{}", {}),
            (corpus.PODS, tarfile.REGTYPE, b'{"kind": "PodList", "items": [{"evil": 1}]}', {}),
        ]
    )
    return corpus.benign() + corpus._gz(hidden)


def data_after_end() -> bytes:
    """A benign tar stream, its end marker, then a member tarfile never reads (one gzip member)."""
    hidden = corpus._raw_tar([("cluster/smuggled.json", tarfile.REGTYPE, b"{}", {})])
    return corpus._gz(_benign_entries() + b"\0" * 1024 + hidden)


def json_objects(count: int) -> bytes:
    """The benign bundle with `count` empty objects in its pod list (2 bytes of text, ~100 of memory each)."""
    pods = b'{"kind": "PodList", "items": [' + b"{}," * (count - 1) + b"{}]}"
    return corpus.bundle(dict(corpus.BASE, **{corpus.PODS: pods}))


def recipe_bomb(recipes: int, repeats: int, piece: bytes = b" " * 65536) -> bytes:
    """A format-2 bundle whose `recipes` config dumps each name one small object `repeats` times.

    The recipes' sha256 is never re-checked on open (the writer checked it), so a stand-in is fine.
    """
    import hashlib
    import json

    from tests.analyzer.tarhelp import manifest
    from ztbundle import layout

    digest = hashlib.sha256(piece).hexdigest()
    doc = manifest(dict(corpus.BASE), format_version=2)
    for i in range(recipes):
        doc["artifacts"].append(
            dict(doc["artifacts"][0], path=layout.ztunnel_config_dump(f"ztunnel-{i}"), input="ztunnel-config",
                 storage="recipe", pieces=[digest] * repeats, bytes=len(piece) * repeats, sha256="0" * 64)
        )  # fmt: skip
    entries = [corpus._reg(n, b) for n, b in corpus.BASE.items()]
    entries += [
        corpus._reg(layout.object_member(digest), piece),
        corpus._reg(layout.MANIFEST, json.dumps(doc).encode()),
    ]
    return corpus._gz(corpus._raw_tar(entries))


def recipe_parse_bomb(recipes: int = 6, repeats: int = 35) -> bytes:
    """Recipes under every size bound that must each be parsed whole: distinct, never split into sections.

    Each rebuilds ~2.4 MB of `{"workloads": [0,0,...]}` from three objects; 6 of them in a 1.7 KB
    bundle took `analyze` 10 s (the config_dump parser is slow on such entries, as it would be on
    a raw member); rebuilding is now held to what a raw member of this archive could cost.
    """
    import hashlib
    import json

    from tests.analyzer.tarhelp import manifest
    from ztbundle import layout

    head, mid, tail = b'{"workloads": [', b"0," * 32768, b'0], "services": []}'
    objects = {hashlib.sha256(x).hexdigest(): x for x in (head, mid, tail)}
    h, m, t = objects
    doc = manifest(dict(corpus.BASE), format_version=2)
    for i in range(recipes):
        pieces = [h] + [m] * (repeats + i) + [t]  # distinct, so no two share a parse
        doc["artifacts"].append(
            dict(doc["artifacts"][0], path=layout.ztunnel_config_dump(f"ztunnel-{i}"), input="ztunnel-config",
                 storage="recipe", pieces=pieces, bytes=sum(len(objects[p]) for p in pieces), sha256="0" * 64)
        )  # fmt: skip
    entries = [corpus._reg(n, b) for n, b in corpus.BASE.items()]
    entries += [corpus._reg(layout.object_member(d), b) for d, b in objects.items()]
    entries.append(corpus._reg(layout.MANIFEST, json.dumps(doc).encode()))
    return corpus._gz(corpus._raw_tar(entries))
