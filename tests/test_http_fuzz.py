"""The HTTP API against an API fuzzer nobody here wrote: schemathesis generates
requests from `/openapi.json` (valid ones and broken ones) and checks every response
against the schema: no 5xx, only documented statuses, content types and headers,
bodies that match their response schema, the token required. It runs
against a real `assistant serve` on the local store (with a token) and on Milvus Lite,
a bounded number of examples per route with a fixed seed.

The broken requests are still sent (and must not give a 5xx), but two checks are left
out. positive_data_acceptance expects every request that fits the schema to succeed;
some rules cannot be written in a schema (since after until, February 30, a language
code that is no language), so those get 400, as documented. negative_data_rejection
expects a query parameter of the wrong JSON type to be refused; in a URL every value
is text, and `?source={...}` is a valid source name. tests/test_http_schema.py checks
that a body of the wrong type is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.test_http_api import Served

pytest.importorskip("schemathesis")
pytestmark = pytest.mark.schemathesis

TOKEN = "fuzz-token"
EXAMPLES = "25"  # per route and phase: about 700 requests, a few seconds a server
CHECKS = ("all",)
EXCLUDED = ("positive_data_acceptance", "negative_data_rejection")


def fuzz(url: str, workdir: Path, *headers: str) -> subprocess.CompletedProcess:
    """schemathesis run in ``workdir``: its cache of earlier failures (.schemathesis/,
    replayed first) stays out of the repository, and each run starts clean."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--exclude-checks",
        ",".join(EXCLUDED),
        "--max-examples",
        EXAMPLES,
        "--seed",
        "24",
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--suppress-health-check",
        "too_slow,filter_too_much,data_too_large",
        "--warnings",
        "off",
        *[part for header in headers for part in ("--header", header)],
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=workdir)


def assert_fuzzed_clean(served: Served, workdir: Path, *headers: str) -> None:
    try:
        result = fuzz(served.url, workdir, *headers)
    finally:
        served.stop()
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout and "failures" not in result.stdout, report
    assert "Traceback" not in served.stderr(), served.stderr()[:3000]


def test_schemathesis_finds_nothing_on_the_local_store(seeds_index_dir, tmp_path):
    served = Served(seeds_index_dir, env={"ASSISTANT_API_TOKEN": TOKEN})
    assert_fuzzed_clean(served, tmp_path, f"Authorization: Bearer {TOKEN}")


def test_schemathesis_finds_nothing_on_milvus_lite(tmp_path):
    pytest.importorskip("pymilvus")
    index_dir = tmp_path / "index"
    store = f"milvus:{tmp_path}/store.db"
    # Built by another process: Milvus Lite opens its file in one process at a time.
    build = [sys.executable, "-m", "assistant", "index", "build", str(SEEDS), "--index"]
    subprocess.run([*build, str(index_dir), "--store", store, "-q"], check=True, timeout=600)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["store"].startswith("milvus:")
    assert_fuzzed_clean(Served(index_dir), tmp_path)
