"""Whether the Hugging Face Hub can be used now: one short probe instead of a client's minute of retries."""

from __future__ import annotations

import functools
import os

HUB_PROBE_TIMEOUT = 3.0
_TRUE = {"1", "on", "yes", "true"}


def hub_unavailable(timeout: float = HUB_PROBE_TIMEOUT) -> str | None:
    """Why the Hugging Face Hub cannot be used now, or None: ``HF_HUB_OFFLINE`` is set, or no TCP answer.

    The probe is one connection attempt to the Hub endpoint with a short timeout, so that an offline
    machine fails in seconds instead of after the client's retries.
    """
    import socket
    from urllib.parse import urlsplit

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return "offline: HF_HUB_OFFLINE is set"
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return f"no network: {host}:{port} unreachable ({type(err).__name__})"


@functools.cache
def hub_reachable() -> bool:
    """:func:`hub_unavailable` is None, asked once per process (loaders use it before every hub id)."""
    return hub_unavailable() is None
