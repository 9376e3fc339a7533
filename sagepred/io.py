"""Atomic file and folder writes: nothing is ever half-written."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (0644 under the usual 022)."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode an ordinary new folder gets under the current umask (0755 under the usual 022)."""
    return 0o777 & ~_umask()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync, then rename over ``path``.

    The file gets the umask's ordinary mode (0644 under 022), not ``mkstemp``'s 0600.
    """
    path = Path(path)
    with _writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with _writing(path):
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside ``path``; on success it replaces ``path`` whole, on error it is removed.

    Unlike a bare ``mkdtemp`` folder (0700), the result has the umask's ordinary mode (0755 under 022),
    and so does everything written into it (safetensors, for one, writes its files 0600).
    """
    path = Path(path)
    with _writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, dir_mode())
        yield tmp
        for inner in tmp.rglob("*"):
            os.chmod(inner, dir_mode() if inner.is_dir() else file_mode())
        with _writing(path):
            if path.exists():
                backup = path.with_name(f".{path.name}.old")
                _remove(backup)
                os.replace(path, backup)
                os.replace(tmp, path)
                _remove(backup)
            else:
                os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replaceable_folder(path: str | Path, earlier: tuple[str, ...], overwrite: bool, option: str) -> Path:
    """``path`` as a folder a command may replace whole: absent, empty, an earlier output of the same
    kind (it holds one of the files ``earlier`` names; with none named, not even that), or anything with
    ``overwrite``; otherwise an :class:`~sagepred.errors.InputError` naming ``option`` (nothing of a
    user's is replaced unasked)."""
    from sagepred.errors import InputError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"exists and is not a folder; choose another {option}", path=path)
    if overwrite or not path.is_dir() or not any(path.iterdir()):
        return path
    if any((path / name).is_file() for name in earlier):
        return path
    what = "is not empty and holds no earlier output of this command" if earlier else "is not empty"
    raise InputError(
        f"the folder exists and {what}; pass --overwrite to replace it, or another {option}", path=path
    )


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An operating-system error while creating or renaming ``path`` becomes one line naming it."""
    from sagepred.errors import InputError

    try:
        yield
    except OSError as err:
        raise InputError(f"cannot write here ({err.strerror or err})", path=path) from err


@contextlib.contextmanager
def exclusive(folder: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created if needed; nothing is written into it) while the
    block runs, so that processes filling the same cache (two servers pulling one checkpoint) take
    turns; a no-op where the platform has no ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    folder = Path(folder)
    with _writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
