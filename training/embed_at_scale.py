"""Embedding large prompt logs on disk: a ``datasets.Dataset`` in, Arrow shards out, memory-mapped rows back.

The in-memory :class:`sagepred.encoders.EmbeddingCache` keeps every embedding of an encoder in one
safetensors file that is read and rewritten whole; past a few ten thousand prompts that costs RAM and
time. :class:`ArrowEmbeddingStore` keeps them instead as Arrow IPC shards under
``<root>/<encoder fingerprint>/``, each row keyed by a 16-byte BLAKE2b digest of the fingerprint and
the prompt text:

* the prompts are an Arrow file read as a memory-mapped ``datasets.Dataset`` (:func:`prompts_dataset`,
  written in chunks from any iterable);
* keys are computed and the missing prompts embedded with ``Dataset.map(batched=True, num_proc=N)``;
  each map batch becomes one shard, written to a temp file and renamed, so a second run embeds nothing
  and an interrupted run resumes from the shards already written;
* :meth:`ArrowEmbeddingStore.features` returns the embeddings of a prompt list as a memory-mapped
  ``.npy`` file in the list's order (built shard by shard with positioned writes, never held whole in
  RAM) and the encoder token counts, which the trainer indexes batch by batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sagepred.encoders import TextEncoder
from sagepred.errors import InputError
from sagepred.io import atomic_write_bytes, file_mode

if TYPE_CHECKING:
    from datasets import Dataset

KEY_BYTES = 16
SHARD_PREFIX = "shard-"
DEFAULT_SHARD_ROWS = 2048
AUTO_THRESHOLD = 50_000
"""``sagepred train --disk-embeddings auto`` switches to the store from this many training prompts on."""


@dataclass
class EmbedConfig:
    """How :meth:`ArrowEmbeddingStore.embed` works through a log."""

    num_proc: int = field(
        default=1, metadata={"help": "worker processes of Dataset.map (each loads its own encoder)"}
    )
    shard_rows: int = field(
        default=DEFAULT_SHARD_ROWS, metadata={"help": "prompts per map batch, i.e. per written shard"}
    )
    batch_size: int = field(default=64, metadata={"help": "prompts per encoder forward pass"})
    chunk_rows: int = field(default=8192, metadata={"help": "rows per chunk when writing Arrow files"})

    def __post_init__(self) -> None:
        for name in ("num_proc", "shard_rows", "batch_size", "chunk_rows"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"must be a positive integer, got {getattr(self, name)!r}", field=name)


@dataclass
class EmbedReport:
    """What one :meth:`ArrowEmbeddingStore.embed` call did."""

    prompts: int
    unique: int
    cached: int
    embedded: int
    shards_written: int


def _require_datasets() -> None:
    try:
        import datasets  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError(
            "disk-backed embedding needs 'datasets' and 'pyarrow' (pip install 'sagepred[scale]')"
        ) from None


def text_digests(fingerprint: str, texts: Iterable[str]) -> list[bytes]:
    """16-byte BLAKE2b digests of ``fingerprint`` + each text."""
    prefix = fingerprint.encode("utf-8") + b"\0"
    return [hashlib.blake2b(prefix + t.encode("utf-8"), digest_size=KEY_BYTES).digest() for t in texts]


def text_keys(fingerprint: str, texts: Iterable[str]) -> np.ndarray:
    """:func:`text_digests` as a numpy ``S16`` array (compare and sort them there; convert an element
    back with :func:`text_digests`, not ``bytes()``, which drops trailing zero bytes)."""
    return np.array(text_digests(fingerprint, texts), dtype=f"S{KEY_BYTES}")


def _key_array(column: Any) -> np.ndarray:
    """A pyarrow (chunked) column of 16-byte binary values as numpy ``S16`` (16 bytes copied per row)."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 0:
            return np.zeros(0, dtype=f"S{KEY_BYTES}")
        column = column.combine_chunks()
    if len(column) == 0:
        return np.zeros(0, dtype=f"S{KEY_BYTES}")
    if pa.types.is_fixed_size_binary(column.type):
        raw = np.frombuffer(column.buffers()[1], dtype=np.uint8)
        raw = raw[column.offset * KEY_BYTES : (column.offset + len(column)) * KEY_BYTES]
    else:  # binary / large_binary: every value is KEY_BYTES long
        offset_type = np.int64 if pa.types.is_large_binary(column.type) else np.int32
        offsets = np.frombuffer(column.buffers()[1], dtype=offset_type)[
            column.offset : column.offset + len(column) + 1
        ]
        if not np.all(np.diff(offsets) == KEY_BYTES):
            raise ValueError("a key column holds values that are not 16 bytes long")
        raw = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return raw.copy().view(f"S{KEY_BYTES}")


def dataset_keys(dataset: Dataset) -> np.ndarray:
    """The ``key`` column of ``dataset`` (in its row order, selections and shuffles included)."""
    if dataset._indices is not None:
        dataset = dataset.flatten_indices()
    return _key_array(dataset.data.column("key"))


def prompts_dataset(texts: Iterable[str], path: str | Path, chunk_rows: int = 8192) -> Dataset:
    """Write ``texts`` (any iterable, consumed in chunks) to an Arrow file at ``path`` and open it
    memory-mapped as a ``datasets.Dataset`` with one column, ``text``. The file is renamed into place
    when complete."""
    _require_datasets()
    import pyarrow as pa
    from datasets import Dataset

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("text", pa.large_string())])
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            chunk: list[str] = []
            for text in texts:
                if not isinstance(text, str):
                    raise InputError(f"prompt {text!r} is not a string", path=path)
                chunk.append(text)
                if len(chunk) >= chunk_rows:
                    writer.write_batch(pa.record_batch([pa.array(chunk, pa.large_string())], schema=schema))
                    chunk = []
            if chunk:
                writer.write_batch(pa.record_batch([pa.array(chunk, pa.large_string())], schema=schema))
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Dataset.from_file(str(path))


class _KeyBatch:
    """``Dataset.map`` function: the ``key`` column of a batch of prompts."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        return {"key": text_digests(self.fingerprint, batch["text"])}


class _EmbedBatch:
    """``Dataset.map`` function: embeds a batch of prompts and writes it as one shard.

    In the parent process it uses the live encoder; a worker process (``num_proc > 1``) loads the
    encoder by name once, checks its fingerprint, and runs torch with its share of the threads.
    """

    def __init__(self, encoder: TextEncoder, folder: Path, batch_size: int, threads: int) -> None:
        self.encoder: TextEncoder | None = encoder
        self.name = encoder.name
        self.max_length = encoder.max_length
        self.fingerprint = encoder.fingerprint()
        self.folder = folder
        self.batch_size = batch_size
        self.threads = threads

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "encoder": None}

    def _worker_encoder(self) -> TextEncoder:
        if self.encoder is None:
            import torch

            from sagepred.encoders import load_encoder

            torch.set_num_threads(max(1, self.threads))
            encoder = load_encoder(self.name, max_length=self.max_length)
            if encoder.fingerprint() != self.fingerprint:
                raise InputError(
                    f"encoder {self.name!r} loaded in a worker differs from the caller's; use num_proc=1",
                    field="num_proc",
                )
            self.encoder = encoder
        return self.encoder

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        texts = list(batch["text"])
        if not texts:
            return {"rows": []}
        encoder = self._worker_encoder()
        embeddings = encoder.encode_uncached(texts, batch_size=self.batch_size)
        tokens = np.asarray(encoder.count_tokens(texts), dtype=np.int32)
        keys = [bytes(k) for k in batch["key"]]
        write_shard(self.folder, keys, embeddings, tokens)
        return {"rows": [len(texts)]}


def write_shard(folder: Path, keys: Sequence[bytes], embeddings: np.ndarray, tokens: np.ndarray) -> Path:
    """One Arrow IPC shard (``key``, ``embedding``, ``tokens``), written to a temp file and renamed."""
    import pyarrow as pa

    dim = int(embeddings.shape[1])
    values = pa.array(np.ascontiguousarray(embeddings, dtype=np.float32).reshape(-1))
    table = pa.table(
        {
            "key": pa.array(list(keys), pa.binary(KEY_BYTES)),
            "embedding": pa.FixedSizeListArray.from_arrays(values, dim),
            "tokens": pa.array(np.asarray(tokens, dtype=np.int32)),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    name = hashlib.blake2b(b"".join(keys), digest_size=12).hexdigest()
    path = folder / f"{SHARD_PREFIX}{name}.arrow"
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    return path


@dataclass
class StoreIndex:
    """Where each cached key lives: sorted keys, their shard number and row."""

    keys: np.ndarray
    shard: np.ndarray
    row: np.ndarray
    shards: list[Path]

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Position in :attr:`keys` of each of ``keys``, ``-1`` where absent."""
        if len(self.keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, keys)
        pos_c = np.minimum(pos, len(self.keys) - 1)
        return np.where(self.keys[pos_c] == keys, pos_c, -1)


class ArrowEmbeddingStore:
    """Embeddings on disk as Arrow shards per encoder (see the module docstring).

    Args:
        root: cache folder (default ``$SAGEPRED_CACHE_DIR/embeddings-arrow`` or
            ``~/.cache/sagepred/embeddings-arrow``).
        config: workers and batch sizes.
    """

    def __init__(self, root: str | Path | None = None, config: EmbedConfig | None = None) -> None:
        from sagepred.paths import cache_dir

        _require_datasets()
        from sagepred.progress import progress_enabled

        if not progress_enabled():
            import datasets

            datasets.disable_progress_bars()
        self.root = Path(root) if root is not None else cache_dir("embeddings-arrow")
        self.config = config or EmbedConfig()

    def folder(self, encoder: TextEncoder) -> Path:
        """The encoder's shard folder."""
        return self.root / encoder.fingerprint()

    def index(self, encoder: TextEncoder) -> StoreIndex:
        """Read the key column of every complete shard (memory-mapped; temp files are ignored)."""
        import pyarrow as pa

        folder = self.folder(encoder)
        shards = sorted(folder.glob(f"{SHARD_PREFIX}*.arrow")) if folder.is_dir() else []
        keys, shard_ids, rows, usable = [], [], [], []
        for path in shards:
            try:
                with pa.memory_map(str(path)) as source:
                    column = pa.ipc.open_file(source).read_all().column("key")
                    shard_keys = _key_array(column)
            except (pa.ArrowInvalid, OSError, KeyError):  # a damaged shard is re-embedded, never trusted
                continue
            number = len(usable)
            usable.append(path)
            keys.append(shard_keys)
            shard_ids.append(np.full(len(shard_keys), number, dtype=np.int32))
            rows.append(np.arange(len(shard_keys), dtype=np.int32))
        if not keys:
            empty = np.zeros(0, dtype=np.int32)
            return StoreIndex(np.zeros(0, dtype=f"S{KEY_BYTES}"), empty, empty, [])
        all_keys = np.concatenate(keys)
        order = np.argsort(all_keys, kind="stable")
        return StoreIndex(
            all_keys[order], np.concatenate(shard_ids)[order], np.concatenate(rows)[order], usable
        )

    def keyed(self, dataset: Dataset, encoder: TextEncoder) -> Dataset:
        """``dataset`` with a ``key`` column added by a batched, ``num_proc``-parallel map."""
        fingerprint = encoder.fingerprint()
        return dataset.map(
            _KeyBatch(fingerprint),
            batched=True,
            batch_size=self.config.chunk_rows,
            num_proc=self._num_proc(len(dataset)),
            new_fingerprint=hashlib.blake2b(
                f"keys|{fingerprint}|{dataset._fingerprint}".encode(), digest_size=8
            ).hexdigest(),
            desc="hashing prompts",
        )

    def _num_proc(self, rows: int) -> int | None:
        procs = min(self.config.num_proc, max(1, rows // max(self.config.shard_rows, 1)))
        return procs if procs > 1 else None

    def embed(
        self, prompts: Dataset | Iterable[str], encoder: TextEncoder, workdir: str | Path | None = None
    ) -> EmbedReport:
        """Embed every prompt not in the store yet; returns counts.

        ``prompts`` is a ``datasets.Dataset`` with a ``text`` column, or any iterable of strings
        (written first to an Arrow file under ``workdir``, default a temp folder).
        """
        import torch
        from datasets import Dataset

        with contextlib.ExitStack() as stack:
            if not isinstance(prompts, Dataset):
                where = workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="sagepred-embed-"))
                prompts = prompts_dataset(prompts, Path(where) / "prompts.arrow", self.config.chunk_rows)
            if "text" not in prompts.column_names:
                raise InputError(f"expected a 'text' column, got {prompts.column_names}", field="prompts")
            keyed = self.keyed(prompts, encoder)
            keys = dataset_keys(keyed)
            _, first = np.unique(keys, return_index=True)
            first.sort()
            index = self.index(encoder)
            todo = first[index.lookup(keys[first]) < 0]
            shards_before = len(index.shards)
            if len(todo):
                folder = self.folder(encoder)
                folder.mkdir(parents=True, exist_ok=True)
                procs = self._num_proc(len(todo))
                threads = torch.get_num_threads() // (procs or 1)
                pending = keyed.select(todo)
                pending.map(
                    _EmbedBatch(encoder, folder, self.config.batch_size, threads),
                    batched=True,
                    batch_size=self.config.shard_rows,
                    num_proc=procs,
                    remove_columns=pending.column_names,
                    keep_in_memory=True,
                    load_from_cache_file=False,
                    new_fingerprint=hashlib.blake2b(os.urandom(16), digest_size=8).hexdigest(),
                    desc="embedding prompts",
                )
            shards_after = len(self.index(encoder).shards) if len(todo) else shards_before
        return EmbedReport(
            prompts=len(keys),
            unique=len(first),
            cached=len(first) - len(todo),
            embedded=len(todo),
            shards_written=shards_after - shards_before,
        )

    def features(
        self, encoder: TextEncoder, texts: Sequence[str] | Dataset, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(embeddings, token counts)`` of ``texts`` in order, embedding what is missing first.

        The embeddings are a copy-on-write memory map of a ``.npy`` file under the encoder's
        ``views/`` folder (reused when the same prompt list comes again); rows are read from disk
        when indexed. Token counts are an in-memory ``float32`` array.
        """
        del progress
        with tempfile.TemporaryDirectory(prefix="sagepred-embed-") as workdir:
            dataset = (
                texts
                if not isinstance(texts, Sequence)
                else prompts_dataset(texts, Path(workdir) / "prompts.arrow", self.config.chunk_rows)
            )
            self.embed(dataset, encoder)
            keys = dataset_keys(self.keyed(dataset, encoder))
            return self._view(encoder, keys)

    def encode(
        self, encoder: TextEncoder, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embeddings of ``texts`` (the :class:`~sagepred.encoders.EmbeddingCache` interface)."""
        del batch_size
        return self.features(encoder, texts, progress=progress)[0]

    def _view(self, encoder: TextEncoder, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import pyarrow as pa

        views = self.folder(encoder) / "views"
        name = hashlib.blake2b(keys.tobytes(), digest_size=12).hexdigest()
        matrix_path, tokens_path = views / f"{name}.npy", views / f"{name}.tokens.npy"
        if matrix_path.is_file() and tokens_path.is_file():
            with contextlib.suppress(ValueError, OSError):
                matrix = np.load(matrix_path, mmap_mode="c")
                tokens = np.load(tokens_path)
                if matrix.shape[0] == len(keys) == tokens.shape[0]:
                    return matrix, tokens.astype(np.float32)
        index = self.index(encoder)
        where = index.lookup(keys)
        if (where < 0).any():
            raise InputError(
                f"{int((where < 0).sum())} prompts missing from the embedding store after embedding"
            )
        dim = encoder.dim
        row_bytes = dim * 4
        tokens = np.zeros(len(keys), dtype=np.int32)
        views.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=views)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.lib.format.write_array_header_1_0(
                    handle, {"descr": "<f4", "fortran_order": False, "shape": (len(keys), dim)}
                )
                header = handle.tell()
                handle.truncate(header + len(keys) * row_bytes)
                handle.flush()
                shard_of = index.shard[where]
                row_of = index.row[where]
                for number, path in enumerate(index.shards):
                    positions = np.flatnonzero(shard_of == number)
                    if not len(positions):
                        continue
                    with pa.OSFile(str(path)) as source:
                        table = pa.ipc.open_file(source).read_all()
                    values = table.column("embedding").combine_chunks().flatten().to_numpy()
                    rows = values.reshape(-1, dim)[row_of[positions]]
                    tokens[positions] = table.column("tokens").to_numpy()[row_of[positions]]
                    for position, row in zip(positions.tolist(), rows, strict=True):
                        os.pwrite(handle.fileno(), row.tobytes(), header + position * row_bytes)
                    del table, values, rows
                os.fsync(handle.fileno())
            os.chmod(tmp, file_mode())
            os.replace(tmp, matrix_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        buffer = io.BytesIO()
        np.save(buffer, tokens)
        atomic_write_bytes(tokens_path, buffer.getvalue())
        return np.load(matrix_path, mmap_mode="c"), tokens.astype(np.float32)


def use_disk_embeddings(mode: str, train_records: int) -> bool:
    """Whether ``sagepred train --disk-embeddings MODE`` uses the store for ``train_records`` prompts."""
    if mode not in ("auto", "on", "off"):
        raise InputError(f"expected auto, on or off, got {mode!r}", field="--disk-embeddings")
    return mode == "on" or (mode == "auto" and train_records >= AUTO_THRESHOLD)
