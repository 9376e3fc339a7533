"""``sagepred zoo push`` → ``LengthPredictor.from_pretrained("user/repo")`` through the real Hub client.

The Hub is a local stand-in of its HTTP API on 127.0.0.1 (the endpoints the installed
``huggingface_hub`` calls): ``create_repo``, ``validate-yaml``, ``preupload`` and ``commit`` (files
uploaded inline, the "regular" upload mode) for the push; repo info, the file tree and ``resolve``
(with ``ETag`` and ``X-Repo-Commit``) for the download. Every request is recorded, so the test also
asserts exactly what the client sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import torch

from sagepred.cli import main
from sagepred.errors import CheckpointError
from sagepred.predictor import LengthPredictor, PredictorConfig

REPO = "me/sagepred-demo"
HARNESSES = "/api/agent-harnesses"  # the client's own registry fetch (cached under HF_HOME), not ours
PROMPTS = ["Write a haiku about autumn.", "Explain the history of the Roman Empire in detail."]


@dataclass
class HubState:
    """What the stand-in holds: repos (path -> bytes) with one commit each, and every request seen."""

    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    commit_payloads: list[list[dict]] = field(default_factory=list)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def make_handler(state: HubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, payload: object, status: int = 200) -> None:
            self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def _route(self) -> None:
            path = unquote(urlsplit(self.path).path)
            state.requests.append((self.command, path))
            parts = path.strip("/").split("/")
            if self.command == "POST" and path == "/api/repos/create":
                body = json.loads(self._body())
                repo = f"{body['organization']}/{body['name']}"
                if body["organization"] == "forbidden":
                    return self._json(
                        {"error": "You don't have the rights to create a model under this namespace"}, 403
                    )
                state.repos.setdefault(repo, {})
                return self._json({"url": f"http://{self.headers['Host']}/{repo}", "name": repo})
            if self.command == "POST" and path == "/api/validate-yaml":
                self._body()
                return self._json({"errors": [], "warnings": []})
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and self.command == "POST":
                repo, action = f"{parts[2]}/{parts[3]}", parts[4]
                if repo not in state.repos:
                    return self._json({"error": "Repository not found"}, 404)
                if action == "preupload":
                    files = json.loads(self._body())["files"]
                    return self._json(
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                for f in files
                            ]
                        }
                    )
                if action == "commit":
                    lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
                    state.commit_payloads.append(lines)
                    for line in lines:
                        if line["key"] == "file":
                            value = line["value"]
                            assert value["encoding"] == "base64"
                            state.repos[repo][value["path"]] = base64.b64decode(value["content"])
                    oid = hashlib.sha1(repr(sorted(state.repos[repo].items())).encode()).hexdigest()
                    state.commits[repo] = oid
                    return self._json(
                        {"commitUrl": f"http://{self.headers['Host']}/{repo}/commit/{oid}", "commitOid": oid}
                    )
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and self.command == "GET":
                repo, action = f"{parts[2]}/{parts[3]}", parts[4]
                if repo not in state.commits:
                    return self._json({"error": "Repository not found"}, 404)
                files = state.repos[repo]
                if action == "revision":
                    return self._json(
                        {
                            "id": repo,
                            "modelId": repo,
                            "sha": state.commits[repo],
                            "private": False,
                            "siblings": [{"rfilename": name} for name in sorted(files)],
                        }
                    )
                if action == "tree":
                    return self._json(
                        [
                            {"type": "file", "path": name, "size": len(data), "oid": git_blob_sha1(data)}
                            for name, data in sorted(files.items())
                        ]
                    )
            if len(parts) >= 5 and parts[2] == "resolve" and self.command in ("GET", "HEAD"):
                repo, name = f"{parts[0]}/{parts[1]}", "/".join(parts[4:])
                data = state.repos.get(repo, {}).get(name)
                if data is None or repo not in state.commits:
                    return self._send(404, b"", {"X-Error-Code": "EntryNotFound"})
                return self._send(
                    200,
                    data,
                    {"ETag": f'"{git_blob_sha1(data)}"', "X-Repo-Commit": state.commits[repo]},
                )
            return self._json({"error": f"stand-in has no {self.command} {path}"}, 404)

        do_GET = do_POST = do_HEAD = _route

    return Handler


@pytest.fixture()
def hub(tmp_path, monkeypatch) -> Iterator[HubState]:
    """A running stand-in, with the Hub client pointed at it and online (the suite runs offline)."""
    import huggingface_hub.constants as hf_constants

    state = HubState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_standin")
    # The client reads these once at import; the suite imported it offline with the public endpoint.
    monkeypatch.setattr(hf_constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(hf_constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agent_harnesses.json"))
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture()
def checkpoint(tmp_path) -> Path:
    predictor = LengthPredictor(PredictorConfig(target_model="demo"))
    torch.manual_seed(5)
    with torch.no_grad():
        for param in predictor.head.parameters():
            param.normal_(0, 0.3)
    return predictor.save_pretrained(tmp_path / "ckpt")


def test_push_then_from_pretrained_round_trips_through_the_hub_client(hub, checkpoint, capsys):
    assert main(["zoo", "push", str(checkpoint), "--repo", REPO]) == 0
    assert REPO in capsys.readouterr().out
    assert [r for r in hub.requests if r[1] != HARNESSES] == [
        ("POST", "/api/repos/create"),
        ("POST", "/api/validate-yaml"),  # the card's front matter
        ("POST", f"/api/models/{REPO}/preupload/main"),
        ("POST", f"/api/models/{REPO}/commit/main"),
    ]
    ((header, *files),) = hub.commit_payloads
    assert header["key"] == "header" and header["value"]["summary"].startswith("sagepred ")
    assert sorted(f["value"]["path"] for f in files) == ["README.md", "config.json", "model.safetensors"]
    for name, data in hub.repos[REPO].items():
        assert data == (checkpoint / name).read_bytes(), f"{name} changed on the way up"

    hub.requests.clear()
    loaded = LengthPredictor.from_pretrained(REPO)
    fetched = {p.rsplit("/", 1)[-1] for m, p in hub.requests if m == "GET" and "/resolve/" in p}
    assert fetched == {"README.md", "config.json", "model.safetensors"}
    assert ("GET", f"/api/models/{REPO}/revision/main") in hub.requests
    expected = LengthPredictor.from_pretrained(checkpoint, encoder=loaded.encoder).predict(PROMPTS)
    np.testing.assert_allclose(loaded.predict(PROMPTS).mean(), expected.mean(), rtol=1e-6)


def test_a_download_that_differs_from_the_recorded_sha256_is_refused(hub, checkpoint):
    assert main(["zoo", "push", str(checkpoint), "--repo", REPO]) == 0
    weights = bytearray(hub.repos[REPO]["model.safetensors"])
    weights[-200:] = bytes(b ^ 0xFF for b in weights[-200:])  # tensor bytes; the header stays valid
    hub.repos[REPO]["model.safetensors"] = bytes(weights)
    hub.commits[REPO] = "0" * 40  # a new commit: nothing cached for it yet
    with pytest.raises(
        CheckpointError, match=r"model\.safetensors: sha256 [0-9a-f]{64} differs from [0-9a-f]{64}"
    ):
        LengthPredictor.from_pretrained(REPO)


def test_a_push_the_hub_refuses_is_one_line_and_commits_nothing(hub, checkpoint, capsys):
    assert main(["zoo", "push", str(checkpoint), "--repo", "forbidden/sagepred-demo"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "push to forbidden/sagepred-demo failed" in err and "403" in err
    assert not hub.commit_payloads
