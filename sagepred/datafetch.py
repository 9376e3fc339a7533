"""Fetch the public real data into the ``../shared/data`` layout: pinned URLs, resumable, sha256-verified.

The manifest (``sagepred/data/manifest.json``) lists every file of the data folder: where it goes, its
public URL at a pinned revision, its sha256 and size, and its licence. Files that a script derives from
other sources carry ``derived`` (how they are made) instead of a URL and are not downloaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sagepred.errors import InputError, SagepredError
from sagepred.io import file_mode, sha256_file

CHUNK = 1 << 16


class FetchError(SagepredError):
    """A download that failed or whose bytes do not match the manifest (nothing is left behind)."""


@dataclass(frozen=True)
class DataFile:
    """One file of the data folder as the manifest describes it."""

    name: str
    group: str
    dest: str
    sha256: str
    size: int
    licence: str
    url: str | None = None
    derived: str | None = None
    note: str | None = None
    url_checked: bool = False


@dataclass(frozen=True)
class Manifest:
    """Every file of the data folder, in manifest order."""

    files: tuple[DataFile, ...]
    note: str = ""
    path: str = field(default="manifest.json")

    def groups(self) -> list[str]:
        """Group names in first-seen order."""
        return list(dict.fromkeys(f.group for f in self.files))

    def select(self, only: Iterable[str] | None) -> list[DataFile]:
        """Files whose name or group is in ``only`` (all when ``only`` is empty or None)."""
        wanted = list(only or [])
        if not wanted:
            return list(self.files)
        known = {f.name for f in self.files} | set(self.groups())
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise InputError(
                f"unknown data file or group {unknown[0]!r}; groups: {', '.join(self.groups())} "
                "(`sagepred data fetch --list` shows every file)",
                path=self.path,
            )
        return [f for f in self.files if f.name in wanted or f.group in wanted]


_REQUIRED = ("name", "group", "dest", "sha256", "size", "licence")


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Read a manifest (default: the one packaged with sagepred); bad entries are one-line errors."""
    if path is None:
        text = resources.files("sagepred").joinpath("data/manifest.json").read_text(encoding="utf-8")
        where = "sagepred/data/manifest.json"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"cannot read the manifest: {err.strerror}", path=where) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON: {err.msg}", path=where, line=err.lineno) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("files"), list):
        raise InputError("expected an object with a 'files' list", path=where)
    files = []
    for index, entry in enumerate(obj["files"]):
        missing = [k for k in _REQUIRED if not isinstance(entry, dict) or k not in entry]
        if missing:
            raise InputError(f"entry {index} lacks {missing[0]!r}", path=where, field=f"files[{index}]")
        if bool(entry.get("url")) == bool(entry.get("derived")):
            raise InputError(
                f"entry {entry['name']!r} needs exactly one of 'url' and 'derived'",
                path=where,
                field=f"files[{index}]",
            )
        dest = Path(entry["dest"])
        if dest.is_absolute() or ".." in dest.parts:
            raise InputError(
                f"dest {entry['dest']!r} must be a relative path inside the data folder", path=where
            )
        files.append(
            DataFile(
                name=entry["name"],
                group=entry["group"],
                dest=entry["dest"],
                sha256=entry["sha256"].lower(),
                size=int(entry["size"]),
                licence=entry["licence"],
                url=entry.get("url"),
                derived=entry.get("derived"),
                note=entry.get("note"),
                url_checked=bool(entry.get("url_checked", False)),
            )
        )
    return Manifest(files=tuple(files), note=str(obj.get("note", "")), path=where)


def is_present(item: DataFile, root: Path) -> bool:
    """True when the file is in place with the manifest's size and sha256."""
    path = root / item.dest
    return path.is_file() and path.stat().st_size == item.size and sha256_file(path) == item.sha256


def _request(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "sagepred-data-fetch"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def download(
    item: DataFile,
    root: Path,
    *,
    attempts: int = 3,
    timeout: float = 30.0,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Download one file into ``root / item.dest`` through ``<dest>.part``, resuming after a dropped connection.

    The bytes are verified (size, then sha256) before the rename; a mismatch removes the ``.part`` and
    raises :class:`FetchError`. A connection that drops mid-body is retried from where it stopped
    (HTTP Range) up to ``attempts`` times.
    """
    if not item.url:
        raise FetchError(f"{item.name}: derived, not downloadable ({item.derived})")
    final = root / item.dest
    part = final.with_name(final.name + ".part")
    final.parent.mkdir(parents=True, exist_ok=True)
    last_error = "no attempt made"
    for _ in range(max(1, attempts)):
        start = part.stat().st_size if part.exists() else 0
        if start > item.size:
            part.unlink()
            start = 0
        if start == item.size:
            break
        try:
            with _request(item.url, start, timeout) as response:
                status = getattr(response, "status", 200)
                mode = "ab" if start and status == 206 else "wb"
                if mode == "wb" and start and on_bytes:
                    on_bytes(-start)
                with part.open(mode) as handle:
                    while chunk := response.read(CHUNK):
                        handle.write(chunk)
                        if on_bytes:
                            on_bytes(len(chunk))
            if part.stat().st_size >= item.size:
                break
            last_error = f"connection closed after {part.stat().st_size} of {item.size} bytes"
        except urllib.error.HTTPError as err:
            if err.code == 416 and part.exists():
                part.unlink()
                last_error = "the server refused the resume range"
                continue
            raise FetchError(f"{item.name}: HTTP {err.code} from {item.url}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = getattr(err, "reason", None) or err
            last_error = f"{type(err).__name__}: {reason}"
    else:
        raise FetchError(f"{item.name}: download incomplete after {attempts} attempts ({last_error})")
    try:
        size = part.stat().st_size
        if size != item.size:
            raise FetchError(f"{item.name}: got {size} bytes from {item.url}, the manifest says {item.size}")
        digest = sha256_file(part)
        if digest != item.sha256:
            raise FetchError(
                f"{item.name}: sha256 {digest[:12]}… of {item.url} does not match the manifest's "
                f"{item.sha256[:12]}…; nothing was kept"
            )
        os.chmod(part, file_mode())
        os.replace(part, final)
    except FetchError:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise


@dataclass
class FetchReport:
    """What one fetch did: files downloaded, already present, and derived (not downloadable)."""

    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)


def fetch(
    manifest: Manifest,
    root: str | Path,
    only: Iterable[str] | None = None,
    *,
    attempts: int = 3,
    timeout: float = 30.0,
    notify: Callable[[str], None] = lambda _msg: None,
    mirror: str | None = None,
) -> FetchReport:
    """Make every selected file present and verified under ``root``; files already in place are skipped.

    ``mirror``: a base URL serving a copy of the data folder's layout (``<mirror>/<dest>``); every file,
    the derived ones too, is then taken from it and verified against the manifest's size and sha256.
    """
    from sagepred.progress import make_byte_progress

    root = Path(root)
    chosen = manifest.select(only)
    if mirror:
        base = mirror.rstrip("/")
        chosen = [
            dataclasses.replace(item, url=f"{base}/{urllib.parse.quote(item.dest)}", derived=None)
            for item in chosen
        ]
    report = FetchReport()
    todo = []
    for item in chosen:
        if item.derived:
            report.derived.append(item.name)
        elif is_present(item, root):
            report.present.append(item.name)
        else:
            todo.append(item)
    total = sum(item.size for item in todo)
    with make_byte_progress() as progress:
        task = progress.add_task("data fetch", total=total, status="")
        for item in todo:
            progress.update(task, status=item.name)
            download(
                item,
                root,
                attempts=attempts,
                timeout=timeout,
                on_bytes=lambda n: progress.advance(task, n),
            )
            report.downloaded.append(item.name)
            notify(f"fetched {item.dest} ({item.size:,} bytes, sha256 ok)")
    return report
