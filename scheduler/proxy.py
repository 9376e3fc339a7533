"""An OpenAI-compatible pass-through proxy that adds sagepred's ``priority`` and prediction to requests.

``POST /v1/completions`` and ``/v1/chat/completions`` bodies are annotated by a
:class:`~sagepred.scheduler.priority.RequestAnnotator` and forwarded to the vLLM server; every other
request, and every response (streamed chunk by chunk), passes through unchanged. Standard library only
(``http.server`` threads, ``urllib``).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sagepred.scheduler.priority import RequestAnnotator

log = logging.getLogger("sagepred.proxy")

ANNOTATED_PATHS = ("/v1/completions", "/v1/chat/completions")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}


def _handler(upstream: str, annotator: RequestAnnotator, timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug(fmt, *args)

        def _forward(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if body and method == "POST" and self.path.split("?")[0] in ANNOTATED_PATHS:
                try:
                    body = json.dumps(annotator.annotate([json.loads(body)])[0]).encode()
                except (ValueError, TypeError, AttributeError) as err:
                    log.warning("sagepred proxy: forwarding an unannotated body (%s)", err)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            request = urllib.request.Request(upstream + self.path, data=body, method=method, headers=headers)
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as err:
                response = err
            except OSError as err:
                self.send_error(502, f"upstream unreachable: {err}")
                return
            with response:
                self.send_response(response.status)
                for key, value in response.headers.items():
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while chunk := response.read1(65536) if hasattr(response, "read1") else response.read(65536):
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

    return Handler


class PriorityProxy:
    """The proxy server; ``start()`` serves in a daemon thread, ``close()`` stops it."""

    def __init__(
        self,
        upstream: str,
        annotator: RequestAnnotator,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 600.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.server = ThreadingHTTPServer((host, port), _handler(self.upstream, annotator, timeout))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PriorityProxy:
        self._thread = threading.Thread(target=self.server.serve_forever, name="sagepred-proxy", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
