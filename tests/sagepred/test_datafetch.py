"""``sagepred data fetch`` against a real HTTP server on 127.0.0.1: verified, resumable, nothing half-kept."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sagepred.cli import main
from sagepred.datafetch import FetchError, download, fetch, load_manifest

BODY_A = bytes(range(256)) * 400  # 102,400 bytes: several chunks
BODY_B = b"TIMESTAMP,ContextTokens,GeneratedTokens\n" + b"2023-11-16 18:15:46,4808,10\n" * 50


class FixtureServer(ThreadingHTTPServer):
    """Serves fixed bytes by path with Range support; can drop a body midway or corrupt it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = files
        self.drop_after: dict[str, int] = {}  # path -> bytes sent before the connection is cut (once)
        self.corrupt: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        self.timeout = 5

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


class _Handler(BaseHTTPRequestHandler):
    server: FixtureServer
    timeout = 5

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.requests.append((name, self.headers.get("Range")))
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        if name in self.server.corrupt:
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        start = 0
        if rng := self.headers.get("Range"):
            start = int(rng.removeprefix("bytes=").split("-")[0])
        part = body[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        cut = self.server.drop_after.pop(name, None)
        if cut is not None:
            self.wfile.write(part[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(part)


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer({"a.bin": BODY_A, "trace.csv": BODY_B})
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _entry(name: str, group: str, dest: str, body: bytes, url: str) -> dict:
    return {
        "name": name,
        "group": group,
        "dest": dest,
        "url": url,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "licence": "CC-BY-4.0",
    }


@pytest.fixture
def manifest_path(tmp_path: Path, server: FixtureServer) -> Path:
    manifest = {
        "format": 1,
        "files": [
            _entry("blob", "alpha", "alpha/a.bin", BODY_A, server.url("a.bin")),
            _entry("trace", "traces", "traces/azure/trace.csv", BODY_B, server.url("trace.csv")),
            {
                "name": "counts",
                "group": "alpha",
                "dest": "alpha/counts.csv",
                "derived": "re-tokenized by a script",
                "sha256": "0" * 64,
                "size": 1,
                "licence": "CC-BY-4.0",
            },
        ],
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_fetch_downloads_verifies_and_skips_what_is_present(tmp_path, manifest_path, server, capsys):
    dest = tmp_path / "data"
    assert main(["data", "fetch", "--manifest", str(manifest_path), "--dest", str(dest)]) == 0
    assert (dest / "alpha/a.bin").read_bytes() == BODY_A
    assert (dest / "traces/azure/trace.csv").read_bytes() == BODY_B
    assert _leftovers(dest) == ["alpha/a.bin", "traces/azure/trace.csv"]
    assert "2 downloaded, 0 already present, 1 derived" in capsys.readouterr().out
    served = len(server.requests)
    assert main(["data", "fetch", "--manifest", str(manifest_path), "--dest", str(dest)]) == 0
    assert "0 downloaded, 2 already present" in capsys.readouterr().out
    assert len(server.requests) == served, "a verified file is not downloaded again"


def test_data_dir_env_is_the_default_destination(tmp_path, manifest_path, monkeypatch):
    monkeypatch.setenv("SAGEPRED_DATA_DIR", str(tmp_path / "env-data"))
    assert main(["data", "fetch", "--manifest", str(manifest_path), "--only", "trace"]) == 0
    assert _leftovers(tmp_path / "env-data") == ["traces/azure/trace.csv"]


def test_corrupted_bytes_are_one_error_line_and_leave_nothing(tmp_path, manifest_path, server, capsys):
    server.corrupt.add("a.bin")
    dest = tmp_path / "data"
    code = main(["data", "fetch", "--manifest", str(manifest_path), "--dest", str(dest), "--only", "blob"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "blob: sha256" in err and "does not match the manifest" in err
    assert _leftovers(dest) == [], "no .part and no final file after a mismatch"


def test_dropped_connection_resumes_with_a_range_request(tmp_path, manifest_path, server):
    server.drop_after["a.bin"] = 30_000
    dest = tmp_path / "data"
    manifest = load_manifest(manifest_path)
    report = fetch(manifest, dest, ["blob"], timeout=5)
    assert report.downloaded == ["blob"]
    assert (dest / "alpha/a.bin").read_bytes() == BODY_A
    ranges = [rng for name, rng in server.requests if name == "a.bin"]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert int(ranges[1].removeprefix("bytes=").rstrip("-")) > 0
    assert _leftovers(dest) == ["alpha/a.bin"]


def test_an_interrupted_fetch_keeps_its_part_and_the_next_run_resumes(tmp_path, manifest_path, server):
    server.drop_after["a.bin"] = 40_000
    dest = tmp_path / "data"
    item = next(f for f in load_manifest(manifest_path).files if f.name == "blob")
    with pytest.raises(FetchError, match="incomplete after 1 attempts"):
        download(item, dest, attempts=1, timeout=5)
    part = dest / "alpha/a.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < len(BODY_A)
    assert not (dest / "alpha/a.bin").exists()
    download(item, dest, attempts=1, timeout=5)
    assert (dest / "alpha/a.bin").read_bytes() == BODY_A
    assert not part.exists()
    assert server.requests[-1] == ("a.bin", f"bytes={kept}-")


def test_only_a_group_and_list(tmp_path, manifest_path, capsys):
    dest = tmp_path / "data"
    assert (
        main(["data", "fetch", "--manifest", str(manifest_path), "--dest", str(dest), "--only", "alpha"]) == 0
    )
    assert _leftovers(dest) == ["alpha/a.bin"]
    capsys.readouterr()
    assert main(["data", "fetch", "--manifest", str(manifest_path), "--dest", str(dest), "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("present") and "alpha/a.bin" in lines[0]
    assert lines[1].startswith("missing") and "traces/azure/trace.csv" in lines[1]
    assert lines[2].startswith("derived") and "alpha/counts.csv" in lines[2]
    assert lines[3] == f"3 files in {dest}"


def test_unknown_name_is_one_line_and_exit_2(tmp_path, manifest_path, capsys):
    code = main(
        ["data", "fetch", "--manifest", str(manifest_path), "--dest", str(tmp_path), "--only", "nope"]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown data file or group 'nope'" in err[0]


def test_a_missing_file_on_the_server_is_one_line(tmp_path, manifest_path, server, capsys):
    server.files.pop("trace.csv")
    code = main(
        ["data", "fetch", "--manifest", str(manifest_path), "--dest", str(tmp_path), "--only", "trace"]
    )
    assert code == 2
    assert capsys.readouterr().err.strip().endswith(f"HTTP 404 from {server.url('trace.csv')}")
    assert _leftovers(tmp_path) == ["manifest.json"]


def test_fetched_files_follow_the_umask(tmp_path, manifest_path):
    old = os.umask(0o022)
    try:
        fetch(load_manifest(manifest_path), tmp_path / "data", ["trace"], timeout=5)
    finally:
        os.umask(old)
    assert (tmp_path / "data/traces/azure/trace.csv").stat().st_mode & 0o777 == 0o644


def test_the_packaged_manifest_covers_the_data_folder_layout():
    manifest = load_manifest()
    dests = [f.dest for f in manifest.files]
    assert len(dests) == len(set(dests))
    assert {"alpaca_eval", "castillo", "azure_2023", "mooncake", "tokenizers"} <= set(manifest.groups())
    for item in manifest.files:
        assert len(item.sha256) == 64 and item.size > 0 and item.licence
        assert item.url or item.derived
    by_dest = {f.dest: f for f in manifest.files}
    assert by_dest["traces/azure_2023/AzureLLMInferenceTrace_conv.csv"].url.startswith(
        "https://raw.githubusercontent.com/Azure/AzurePublicDataset/b469a113/"
    )
    assert by_dest["alpaca_eval/all_models_output_lengths.csv"].derived


def test_the_packaged_manifest_matches_the_reference_copies(data_dir):
    """The shared data folder is the reference: every manifest entry has its size and sha256."""
    from sagepred.datafetch import is_present

    missing = [f.dest for f in load_manifest().files if not is_present(f, data_dir)]
    assert missing == []


@pytest.mark.parametrize(("require", "code", "word"), [("", 0, "skipped"), ("1", 1, "error")])
def test_missing_data_skips_unless_required(tmp_path, require, code, word):
    import subprocess
    import sys

    test = f"{Path(__file__).resolve()}::test_the_packaged_manifest_matches_the_reference_copies"
    env = {**os.environ, "SAGEPRED_DATA_DIR": str(tmp_path / "none"), "SAGEPRED_REQUIRE_DATA": require}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == code, out.stdout[-2000:]
    assert f"1 {word}" in out.stdout
    assert f"real data missing at {tmp_path / 'none'}: run `sagepred data fetch`" in out.stdout


def test_a_mirror_serves_every_file_the_derived_ones_too_verified(tmp_path, manifest_path, server, capsys):
    counts = b"idx,tokens\n0,12\n"
    doc = json.loads(manifest_path.read_text())
    doc["files"][2].update(sha256=hashlib.sha256(counts).hexdigest(), size=len(counts))
    manifest_path.write_text(json.dumps(doc))
    server.files.update({"mirror/alpha/a.bin": BODY_A, "mirror/traces/azure/trace.csv": BODY_B})
    server.files["mirror/alpha/counts.csv"] = counts
    dest = tmp_path / "data"
    args = ["data", "fetch", "--manifest", str(manifest_path), "--dest", str(dest)]
    assert main([*args, "--mirror", server.url("mirror/")]) == 0
    assert (dest / "alpha/counts.csv").read_bytes() == counts
    assert "3 downloaded, 0 already present, 0 derived" in capsys.readouterr().out
    assert {name for name, _ in server.requests} == {
        "mirror/alpha/a.bin",
        "mirror/traces/azure/trace.csv",
        "mirror/alpha/counts.csv",
    }, "nothing is taken from the sources' own URLs"

    server.corrupt.add("mirror/alpha/counts.csv")
    (dest / "alpha/counts.csv").unlink()
    assert main([*args, "--mirror", server.url("mirror")]) == 2
    assert "sha256" in capsys.readouterr().err
    assert not (dest / "alpha/counts.csv").exists()
    assert not list(dest.rglob("*.part"))
