from __future__ import annotations

import os
from pathlib import Path

from mnemo_dagster.indexing.discovery import content_hash, scan, walk
from mnemo_dagster.models import KnownState


def _write(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def test_walk_prunes_vendored_dirs_and_honours_nested_gitignores(tmp_path: Path) -> None:
    _write(tmp_path, "src/app.py", "x = 1\n")
    _write(tmp_path, "node_modules/lib/index.js", "x\n")
    _write(tmp_path, ".git/config", "x\n")
    _write(tmp_path, ".gitignore", "*.log\n/generated/\n")
    _write(tmp_path, "generated/out.py", "x = 1\n")
    _write(tmp_path, "src/debug.log", "x\n")
    _write(tmp_path, "src/pkg/.gitignore", "secret.py\n!keep.log\n")
    _write(tmp_path, "src/pkg/secret.py", "x = 1\n")
    _write(tmp_path, "src/pkg/mod.py", "x = 1\n")
    _write(tmp_path, "src/pkg/keep.log", "kept\n")  # re-included by the deeper !keep.log, as git does
    _write(tmp_path, "src/pkg/other.log", "x\n")
    os.symlink(tmp_path / "src/app.py", tmp_path / "src/link.py")
    assert sorted(path for path, _ in walk(tmp_path)) == [
        ".gitignore",
        "src/app.py",
        "src/pkg/.gitignore",
        "src/pkg/keep.log",
        "src/pkg/mod.py",
    ]


def test_scan_classifies_files_and_says_why_it_skips(tmp_path: Path) -> None:
    _write(tmp_path, "ok.py", "def f():\n    return 1\n")
    _write(tmp_path, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    _write(tmp_path, "blob.py", b"abc\x00def")
    _write(tmp_path, "empty.py", b"")
    _write(tmp_path, "big.py", "x = 1\n" * 400_000)
    _write(tmp_path, "app.min.js", "var a=1;" * 5000)
    result = scan(tmp_path, {}, max_file_bytes=1024 * 1024)
    reasons = {f.path: f.skip_reason for f in result.changed}
    assert reasons == {
        "ok.py": None,
        "image.png": "not a recognised source file type",
        "blob.py": "binary file",
        "empty.py": "empty file",
        "big.py": "too large (2.4 MB; the limit is 1.0 MB)",  # 2,400,000 bytes, the limit 1,048,576
        "app.min.js": "minified or generated (a line of 40,000 characters)",
    }
    ok = next(f for f in result.changed if f.path == "ok.py")
    assert ok.language == "python"
    assert ok.content_hash == content_hash(b"def f():\n    return 1\n")


def test_rescan_reads_only_what_moved(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", "a = 1\n")
    _write(tmp_path, "b.py", "b = 1\n")
    _write(tmp_path, "c.py", "c = 1\n")
    first = scan(tmp_path, {})
    known = {f.path: KnownState(f.size_bytes, f.mtime_ns, f.content_hash) for f in first.changed}
    known["gone.py"] = KnownState(1, 1, "x")
    _write(tmp_path, "b.py", "b = 2\n")  # same size, new content
    os.utime(tmp_path / "b.py", ns=(known["b.py"].mtime_ns + 10**9, known["b.py"].mtime_ns + 10**9))
    os.utime(
        tmp_path / "c.py", ns=(known["c.py"].mtime_ns + 10**9, known["c.py"].mtime_ns + 10**9)
    )  # touched
    second = scan(tmp_path, known)
    assert second.unchanged == ["a.py"]
    assert [f.path for f in second.changed] == ["b.py"]
    assert [f.path for f in second.touched] == ["c.py"]
    assert second.deleted == ["gone.py"]
