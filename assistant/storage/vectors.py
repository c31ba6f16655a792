"""``vectors.faiss``, ``vectors.npy`` and ``sentences.npy``: one vector per citable
passage (the search structure and the full-precision copy) and one per sentence.

::

    vectors.faiss   exact (flat) up to EXACT_SEARCH_LIMIT vectors, IVF with 8-bit scalar
                    quantisation above (see make_vector_index)
    vectors.npy     the same vectors in full precision: IVF candidates are re-ranked
                    exactly, and updates reuse them
    sentences.npy   float16, one row per sentence of each citable passage, in passage order

Row N of ``vectors.*`` is the passage whose ``vector_row`` is N in the database.
faiss is imported only when a vector file is read or written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError, VectorsCorruptError
from ..paths import private_opener
from .layout import (
    RAW_VECTORS_NAME,
    REBUILD,
    SENTENCE_VECTORS_NAME,
    VECTORS_NAME,
    Manifest,
    artifact_problem,
    check_artifact_size,
    fault_point,
)

# Up to this many vectors, search is exact; above it, IVF with 8-bit codes keeps
# memory at a quarter and a query scans a few thousand codes instead of everything.
EXACT_SEARCH_LIMIT = 50_000
# IVF candidates re-ranked with the full-precision vectors.
REFINE_POOL = 100


# -- the search structure ------------------------------------------------------------


def make_vector_index(vectors: np.ndarray):
    """Exact search up to EXACT_SEARCH_LIMIT vectors; IVF with 8-bit codes above."""
    count, dimension = vectors.shape
    return build_vector_index(
        count,
        dimension,
        lambda rows: vectors[rows],
        lambda first, size: vectors[first : first + size],
    )


def build_vector_index(count: int, dimension: int, rows_of, block_of):
    """The search structure of ``count`` vectors, read through ``rows_of(indices)``
    and ``block_of(first, size)``: from memory, or a file a block at a time (a write
    never holds every vector, only what FAISS keeps: the vectors of an exact index,
    the 8-bit codes of an IVF one)."""
    import faiss

    if count <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexFlatIP(dimension)
        for start in range(0, count, ADD_BLOCK):
            index.add(np.ascontiguousarray(block_of(start, ADD_BLOCK), dtype=np.float32))
        return index, "flat"
    lists = ivf_list_count(count)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # training and adding use every core
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dimension, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    # A deterministic sample of about 40 vectors per list trains k-means well enough.
    sample = rows_of(np.arange(0, count, max(1, count // (40 * lists))))
    index.cp.niter = 10
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    for start in range(0, count, ADD_BLOCK):
        index.add(np.ascontiguousarray(block_of(start, ADD_BLOCK), dtype=np.float32))
    faiss.omp_set_num_threads(1)
    return index, f"ivf{lists},sq8"


# Vectors added to a FAISS index at a time (15 MiB of 384-dimensional float32).
ADD_BLOCK = 10_000


def ivf_list_count(count: int) -> int:
    return int(min(4096, max(256, 2 * count**0.5)))


def probe_count(lists: int) -> int:
    """Lists searched per query: enough for recall@10 >= 0.95 after re-ranking."""
    return max(16, lists // 32)


def ivf_of(index):
    """The IVF part of a FAISS index, or None for exact search."""
    import faiss

    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def search_parameters(vector_rows: np.ndarray, ivf):
    """A FAISS selector of the allowed rows, and the search parameters that apply it.
    The selector must outlive the search: faiss keeps only a pointer to it."""
    import faiss

    selector = faiss.IDSelectorBatch(vector_rows)
    if ivf is None:
        return selector, faiss.SearchParameters(sel=selector)
    return selector, faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)


# -- reading --------------------------------------------------------------------------


def load_vectors(path: Path, *, mmap: bool = False):
    import faiss

    # Queries search one vector at a time: one thread is fastest, and OpenMP workers
    # spinning on a busy 2-core machine cost more than the search.
    faiss.omp_set_num_threads(1)
    try:
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        return faiss.read_index(str(path), flags)
    except RuntimeError:
        raise VectorsCorruptError(
            f"the vector file {path} is truncated or corrupt", hint=REBUILD
        ) from None


def load_raw_vectors(path: Path) -> np.ndarray:
    """A ``.npy`` file memory-mapped (for updates and checks; queries use RowReader)."""
    try:
        return np.load(path, mmap_mode="r")
    except (ValueError, OSError) as error:
        raise VectorsCorruptError(
            f"the vector file {path} is truncated or corrupt ({error})", hint=REBUILD
        ) from None


class RowReader:
    """Reads rows of a memory-mapped ``.npy`` array with ``pread`` instead of touching
    the mapping.

    Queries read a hundred or so scattered rows; through the mapping, each read also
    maps the 64 KiB around it (fault-around), so a long-running reader of a
    million-passage index ended up with most of the 1.5 GB file in its resident set.
    Reads through the file leave the pages in the page cache, shared and reclaimable.
    """

    def __init__(self, path: Path, array: np.ndarray) -> None:
        self.array = array
        self.descriptor = os.open(path, os.O_RDONLY)
        self.offset = int(getattr(array, "offset", 0))
        self.row_bytes = array.shape[1] * array.dtype.itemsize

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Rows in the order given, as float32."""
        out = np.empty((len(indices), self.array.shape[1]), dtype=self.array.dtype)
        for position, row in enumerate(indices):
            data = os.pread(
                self.descriptor, self.row_bytes, self.offset + int(row) * self.row_bytes
            )
            out[position] = np.frombuffer(data, dtype=self.array.dtype)
        return out.astype(np.float32, copy=False)

    def block(self, first: int, count: int) -> np.ndarray:
        """``count`` consecutive rows from ``first``, as float32."""
        data = os.pread(
            self.descriptor, self.row_bytes * count, self.offset + first * self.row_bytes
        )
        shape = (len(data) // self.row_bytes, self.array.shape[1])
        return np.frombuffer(data, dtype=self.array.dtype).reshape(shape).astype(np.float32)

    def blocks(self, spans: list[tuple[int, int]]) -> np.ndarray:
        """The rows of each (first, count) span, one after another, as float32: one
        read a span, one conversion for all."""
        data = b"".join(
            os.pread(self.descriptor, self.row_bytes * count, self.offset + first * self.row_bytes)
            for first, count in spans
        )
        width = self.array.shape[1]
        whole = len(data) // self.row_bytes  # a short read (past the end) keeps whole rows
        rows = np.frombuffer(data, dtype=self.array.dtype, count=whole * width)
        return rows.reshape(whole, width).astype(np.float32)

    def close(self) -> None:
        os.close(self.descriptor)


def check_sizes(generation: Path, manifest: Manifest) -> None:
    """Sizes against the manifest: cheap, and they catch truncation (``index verify``
    checks hashes). A missing ``vectors.faiss`` is FileNotFoundError: a writer may have
    removed the generation since the manifest was read."""
    vectors_path = generation / VECTORS_NAME
    if not vectors_path.is_file():
        raise FileNotFoundError(vectors_path)
    check_artifact_size(manifest, vectors_path, VectorsCorruptError)
    for name in (RAW_VECTORS_NAME, SENTENCE_VECTORS_NAME):
        if (generation / name).is_file():
            check_artifact_size(manifest, generation / name, VectorsCorruptError)


class VectorFiles:
    """One generation's vector files, opened for queries.

    ``raw_vectors`` and ``sentence_vectors`` are None for an index without them (the
    scale benchmark writes no sentence vectors); the search structure stands in.
    """

    def __init__(self, vectors, raw_vectors: np.ndarray | None = None, raw_path=None) -> None:
        self.vectors = vectors
        self.raw_vectors = raw_vectors
        self.sentence_vectors: np.ndarray | None = None
        self._raw_rows = RowReader(raw_path, raw_vectors) if raw_path is not None else None
        self._sentence_rows: RowReader | None = None
        self._ivf = ivf_of(vectors)
        if self._ivf is not None:
            self._ivf.nprobe = probe_count(self._ivf.nlist)

    @classmethod
    def open(cls, generation: Path, manifest: Manifest, *, mmap: bool = False) -> VectorFiles:
        """Open and check against the manifest (sizes, count, dimension); whatever was
        opened is closed again when a check fails."""
        vectors_path = generation / VECTORS_NAME
        raw_path = generation / RAW_VECTORS_NAME
        sentences_path = generation / SENTENCE_VECTORS_NAME
        check_sizes(generation, manifest)
        vectors = load_vectors(vectors_path, mmap=mmap)
        raw = load_raw_vectors(raw_path) if raw_path.is_file() else None
        sentences = load_raw_vectors(sentences_path) if sentences_path.is_file() else None
        files = cls(vectors, raw, raw_path if raw is not None else None)
        try:
            if sentences is not None:
                files.sentence_vectors = sentences
                files._sentence_rows = RowReader(sentences_path, sentences)
            if vectors.d != manifest.dimension or vectors.ntotal != manifest.vectors:
                raise VectorsCorruptError(
                    f"the vector file of {generation.parent} does not match its manifest "
                    f"({vectors.ntotal} vectors of {vectors.d} dimensions, "
                    f"expected {manifest.vectors} of {manifest.dimension})",
                    hint=REBUILD,
                )
        except (IndexCorruptError, OSError):
            files.close()
            raise
        return files

    def close(self) -> None:
        for reader in (self._raw_rows, self._sentence_rows):
            if reader is not None:
                reader.close()
        self._raw_rows = self._sentence_rows = None

    @property
    def count(self) -> int:
        return self.vectors.ntotal

    @property
    def has_sentences(self) -> bool:
        return self._sentence_rows is not None

    def search(
        self, query: np.ndarray, k: int, allowed_rows: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(vector row, cosine) pairs, best first; only ``allowed_rows`` when given."""
        if self.vectors.ntotal == 0 or k <= 0:
            return []
        params = None
        if allowed_rows is not None:
            if not len(allowed_rows):
                return []
            _selector, params = search_parameters(allowed_rows, self._ivf)
        query = query.reshape(1, -1).astype(np.float32)
        if self._ivf is None or self.raw_vectors is None:
            scores, rows = self.vectors.search(query, k, params=params)
            return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        # Approximate candidates, then exact cosine on the full-precision vectors.
        _, rows = self.vectors.search(query, max(k, REFINE_POOL), params=params)
        candidates = np.sort(rows[0][rows[0] >= 0])  # ascending: kinder to the page cache
        exact = self.rows(candidates) @ query[0]
        best = np.argsort(-exact, kind="stable")[:k]
        return [(int(candidates[i]), float(exact[i])) for i in best]

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """Full-precision vectors of these rows: read from the file when it is one."""
        if self._raw_rows is not None:
            return self._raw_rows.rows(rows)
        return np.asarray(self.raw_vectors[rows], dtype=np.float32)

    def vector(self, row: int) -> np.ndarray:
        """The stored vector of one passage (full precision when the index keeps it)."""
        if self.raw_vectors is not None:
            return np.array(self.raw_vectors[row], dtype=np.float32)
        return self.vectors.reconstruct(int(row))

    def cosines(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosines of the query with these rows (sorted rows read fastest)."""
        if self.raw_vectors is not None:
            return self.rows(rows) @ query
        return np.array([float(self.vector(int(row)) @ query) for row in rows], dtype=np.float32)

    def sentence_cosines(self, query: np.ndarray, first: int | None, count: int):
        """Cosines of ``count`` sentences from row ``first`` with the query, or None
        when the index has no sentence vectors for them."""
        if self._sentence_rows is None or first is None or count <= 0:
            return None
        return self._sentence_rows.block(first, count) @ query

    def sentence_cosine_blocks(
        self, query: np.ndarray, spans: list[tuple[int | None, int]]
    ) -> list[np.ndarray | None]:
        """:meth:`sentence_cosines` of each (first, count) span, computed together: a
        hundred candidates cost one product instead of a hundred small ones."""
        found: list[np.ndarray | None] = [None] * len(spans)
        wanted = [i for i, (first, count) in enumerate(spans) if first is not None and count > 0]
        if self._sentence_rows is None or not wanted:
            return found
        counts = [spans[i][1] for i in wanted]
        rows = self._sentence_rows.blocks([spans[i] for i in wanted])
        if len(rows) != sum(counts):  # a span past the end of the file: each on its own
            for i in wanted:
                found[i] = self.sentence_cosines(query, *spans[i])
            return found
        cosines = rows @ query
        start = 0
        for i, count in zip(wanted, counts, strict=True):
            found[i] = cosines[start : start + count]
            start += count
        return found

    def sentence_block(self, first: int, count: int) -> np.ndarray:
        """Stored sentence vectors (the writer reuses them), as float32."""
        return np.asarray(self.sentence_vectors[first : first + count], dtype=np.float32)


# -- writing -----------------------------------------------------------------------------


def write_array(path: Path, array: np.ndarray) -> None:
    with open(path, "wb", opener=private_opener) as handle:
        np.save(handle, np.ascontiguousarray(array))
        handle.flush()
        os.fsync(handle.fileno())


def write_vectors(directory: Path, vectors: np.ndarray) -> str:
    """vectors.npy (full precision) and vectors.faiss (the search structure); returns
    the kind of search structure (the manifest's ``vector_index``)."""
    write_array(directory / RAW_VECTORS_NAME, vectors.astype(np.float32, copy=False))
    return write_vector_index(directory)


def write_vector_index(directory: Path) -> str:
    """vectors.faiss made from the vectors.npy beside it, read a block at a time;
    returns the kind of search structure (the manifest's ``vector_index``)."""
    import faiss

    raw_path = directory / RAW_VECTORS_NAME
    raw = load_raw_vectors(raw_path)
    reader = RowReader(raw_path, raw)
    try:
        count, dimension = raw.shape
        index, kind = build_vector_index(count, dimension, reader.rows, reader.block)
    finally:
        reader.close()
        del raw
    with open(directory / VECTORS_NAME, "wb", opener=private_opener) as handle:
        written = 0

        def write(chunk: bytes) -> int:
            nonlocal written
            handle.write(chunk)  # an OSError (disk full) comes out of faiss as it is
            written += len(chunk)
            if written > 1024:  # part of the file is on disk
                fault_point("vectors-write")
            return len(chunk)

        faiss.write_index(index, faiss.PyCallbackIOWriter(write))
        handle.flush()
        os.fsync(handle.fileno())
    return kind


class ArrayFile:
    """A ``.npy`` file of rows written as they come: the header first (numpy leaves
    room in it for the row count to grow), rows appended, the header rewritten with
    the final count on :meth:`close`. Nothing but the rows of one append is held."""

    def __init__(self, path: Path, dimension: int, dtype) -> None:
        self.path = path
        self.dimension = dimension
        self.dtype = np.dtype(dtype)
        self.count = 0
        self.handle = open(path, "wb", opener=private_opener)  # noqa: SIM115 - closed in close()
        self.header_bytes = self._header(0)
        self.handle.write(self.header_bytes)

    def _header(self, count: int) -> bytes:
        import io

        buffer = io.BytesIO()
        header = {"descr": self.dtype.str, "fortran_order": False, "shape": (count, self.dimension)}
        np.lib.format.write_array_header_1_0(buffer, header)
        return buffer.getvalue()

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1, self.dimension)
        self.handle.write(rows.tobytes())
        self.count += len(rows)

    def close(self) -> None:
        """The header with the final count, then the file to disk."""
        header = self._header(self.count)
        if len(header) != len(self.header_bytes):  # numpy's room for growth ran out
            raise ValueError(f"{self.path.name}: a header of {self.count:,} rows does not fit")
        self.handle.seek(0)
        self.handle.write(header)
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()

    def discard(self) -> None:
        self.handle.close()


def write_sentence_vectors(directory: Path, vectors: np.ndarray) -> None:
    write_array(directory / SENTENCE_VECTORS_NAME, vectors.astype(np.float16, copy=False))


# -- checking (``index verify``) ---------------------------------------------------------


def vectors_problem(generation: Path, manifest: Manifest) -> str | None:
    """Hashes of the vector files, and their shapes against the manifest: None when all
    hold, else what is wrong (the first problem found)."""
    path = generation / VECTORS_NAME
    raw_path = generation / RAW_VECTORS_NAME
    problem = artifact_problem(manifest, path)
    if problem is None and (raw_path.is_file() or RAW_VECTORS_NAME in manifest.artifacts):
        problem = artifact_problem(manifest, raw_path)
        if problem is None:
            try:
                shape = load_raw_vectors(raw_path).shape
                if shape != (manifest.vectors, manifest.dimension):
                    problem = f"{raw_path.name} holds {shape}, the manifest says"
                    problem += f" ({manifest.vectors}, {manifest.dimension})"
            except VectorsCorruptError as error:
                problem = str(error)
    sentences_path = generation / SENTENCE_VECTORS_NAME
    if problem is None and (
        sentences_path.is_file() or SENTENCE_VECTORS_NAME in manifest.artifacts
    ):
        problem = artifact_problem(manifest, sentences_path)
        if problem is None:
            try:
                shape = load_raw_vectors(sentences_path).shape
                if len(shape) != 2 or shape[1] != manifest.dimension:
                    problem = f"{sentences_path.name} holds {shape}, not rows of"
                    problem += f" {manifest.dimension}"
            except VectorsCorruptError as error:
                problem = str(error)
    if problem is None:
        try:
            vectors = load_vectors(path)
            if (vectors.ntotal, vectors.d) != (manifest.vectors, manifest.dimension):
                problem = (
                    f"{vectors.ntotal} vectors of {vectors.d} dimensions, the manifest says"
                    f" {manifest.vectors} of {manifest.dimension}"
                )
        except VectorsCorruptError as error:
            problem = str(error)
    return problem
