#!/usr/bin/env python3
"""Seed the fuzz corpora, fuzz/corpus/<target>/, at run time from ../shared
(never copied into the repository) and from what the project writes itself
(datasets/fixtures, datasets/sample, archives built here).

usage: scripts/fuzz-seeds.py REPO_ROOT
"""

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

CHUNK = 65536
HEADER = 4096


def files(root, *suffixes):
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(suffixes))


def put(corpus, data):
    """A seed, named by its content, as libFuzzer names its own."""
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)


def head_lines(path, limit):
    """The first `limit` bytes of a text file, cut at a line end."""
    with open(path, "rb") as f:
        data = f.read(limit)
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut > 0 else data


def evtx_chunks(path, most=2):
    """The first used chunks of an EVTX file."""
    with open(path, "rb") as f:
        data = f.read(HEADER + most * CHUNK)
    for at in range(HEADER, len(data) - CHUNK + 1, CHUNK):
        chunk = data[at : at + CHUNK]
        if chunk.startswith(b"ElfChnk\0"):
            yield chunk


def small_evtx(path):
    """An EVTX file cut to its header and first chunk."""
    with open(path, "rb") as f:
        return f.read(HEADER + CHUNK)


def zst(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def zip_of(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return out.getvalue()


def tar_of(members):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def macro_lines(macros_dir):
    """ESCU macros as `name(args)=definition` lines (the spl target's form)."""
    try:
        import yaml
    except ImportError:
        return {}
    out = {}
    for p in files(macros_dir, ".yml"):
        doc = yaml.safe_load(p.read_text())
        if not isinstance(doc, dict) or "definition" not in doc:
            continue
        args = ",".join(str(a) for a in doc.get("arguments") or [])
        definition = " ".join(str(doc["definition"]).split("\n"))
        out[doc.get("name", p.stem)] = f"{doc.get('name', p.stem)}({args})={definition}"
    return out


def escu_searches(detections_dir):
    try:
        import yaml
    except ImportError:
        return []
    out = []
    for p in files(detections_dir, ".yml"):
        doc = yaml.safe_load(p.read_text())
        if isinstance(doc, dict) and isinstance(doc.get("search"), str):
            out.append(doc["search"])
    return out


def main():
    repo = Path(sys.argv[1]).resolve()
    shared = repo.parent / "shared"
    corpus = repo / "fuzz" / "corpus"
    evtx_files = files(shared / "datasets", ".evtx") + files(shared / "sigma-regression", ".evtx")
    evtx_files += files(repo / "datasets" / "sample", ".evtx")

    # evtx_chunk: real chunks.
    for p in evtx_files:
        for chunk in evtx_chunks(p):
            put(corpus / "evtx_chunk", chunk)

    # text_lines: a mode byte (0 NDJSON lines, 1 XML lines, 2 a JSON
    # document), then the head of a real file.
    texts = files(shared / "datasets", ".json", ".raw") + files(repo / "datasets" / "fixtures", ".json", ".ndjson", ".xml")
    texts += files(shared / "sigma-regression", ".json")[:40]
    for p in texts:
        data = head_lines(p, 16384)
        if p.suffix in (".xml", ".raw"):
            put(corpus / "text_lines", b"\x01" + data)
        else:
            put(corpus / "text_lines", b"\x00" + data)
            put(corpus / "text_lines", b"\x02" + data)

    # archive: small archives of every kind, nested, built here from the
    # heads of real files.
    json_head = head_lines(shared / "datasets/otrf-security-datasets/empire_enable_rdp_2019-05-18203650.json", 6000)
    xml_head = head_lines(repo / "datasets/fixtures/security-4688.xml", 6000)
    evtx_small = small_evtx(shared / "sigma-regression/proc_creation_win_certutil_decode/events.evtx")
    members = [("logs/a.json", json_head), ("b.xml", xml_head), ("c.evtx", evtx_small)]
    seeds = {
        "json": json_head,
        "evtx": evtx_small,
        "json.gz": gzip.compress(json_head),
        "evtx.zst": zst(evtx_small),
        "zip": zip_of(members),
        "tar": tar_of(members),
        "tar.gz": gzip.compress(tar_of(members)),
        "tar.zst": zst(tar_of(members)),
        # zip > tar.gz > zst > json, and a gz of a gz.
        "nested.zip": zip_of([("x.tar.gz", gzip.compress(tar_of([("y.json.zst", zst(json_head))])))]),
        "gz.gz": gzip.compress(gzip.compress(xml_head)),
        # A zip in a gzip stream is refused: the refusal path.
        "zip.gz": gzip.compress(zip_of(members[:1])),
    }
    for data in seeds.values():
        put(corpus / "archive", data)

    # spl: Sigma-converted queries, and ESCU searches with the definitions
    # of the ESCU macros they call.
    for p in files(shared / "sigma-regression", ".spl"):
        put(corpus / "spl", p.read_bytes())
    macros = macro_lines(shared / "escu" / "macros")
    for search in escu_searches(shared / "escu" / "detections"):
        used = [line for name, line in macros.items() if f"`{name}" in search]
        put(corpus / "spl", ("\n".join(used) + "\n====\n" + search).encode())

    for target in sorted(os.listdir(corpus)):
        print(f"seeds: {target}: {len(os.listdir(corpus / target))}")


if __name__ == "__main__":
    main()
