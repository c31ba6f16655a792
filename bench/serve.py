"""The HTTP API under load: p50/p99 latency and requests/s for /search and /ask on the
seeds index with 1, 4 and 16 concurrent clients, and the same questions through the
library in one process (1, 4 and 16 threads sharing one Index), in one run.

The server is a real `assistant serve` (uvicorn) in a child process on 127.0.0.1; the
clients are asyncio tasks in this process, one keep-alive connection each, sending
their next request as soon as the previous one is answered (closed loop). Each cell
runs for --seconds after one warm-up pass over the questions (shared out among
the clients). The clients share the
machine's cores with the server, as they would on a laptop.

    .venv/bin/python bench/serve.py [--seconds 10] [--clients 1,4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import QUESTION, ROOT, SEEDS, table, write_json

QUESTIONS_FILE = ROOT.parent / "shared" / "questions" / "seeds-dev.jsonl"


def questions() -> list[str]:
    """The seeds dev questions (answerable and not), else the demo question alone."""
    if not QUESTIONS_FILE.is_file():
        return [QUESTION]
    lines = QUESTIONS_FILE.read_text().splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(via: str, route: str, clients: int, latencies: list[float], errors: int, wall: float):
    return {
        "via": via,
        "route": route,
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "requests_per_s": round(len(latencies) / wall, 1),
    }


# -- over HTTP ---------------------------------------------------------------------------


def start_server(index_dir: Path, workers: int | None) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "assistant", "serve", "--index", str(index_dir)]
    if workers:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        [*command, "--port", "0"], stdout=subprocess.PIPE, stderr=sys.stderr, text=True
    )
    ready, _, _ = select.select([process.stdout], [], [], 120)
    line = process.stdout.readline() if ready else ""
    if " at " not in line:
        process.kill()
        raise SystemExit(f"assistant serve did not start: {line!r}")
    return process, line.split(" at ", 1)[1].split()[0]


def request_for(route: str, question: str) -> dict:
    if route == "search":
        return {"method": "GET", "url": "/search", "params": {"q": question, "k": 5}}
    return {"method": "POST", "url": "/ask", "json": {"question": question}}


async def http_cell(url: str, route: str, clients: int, asked: list[str], seconds: float):
    import httpx

    latencies: list[float] = []
    errors = 0
    warmed = 0
    all_warm, start = asyncio.Event(), asyncio.Event()
    deadline = 0.0

    async def client(number: int) -> None:
        nonlocal errors, warmed
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as session:
            # One warm-up pass over the questions, shared out: not counted.
            for question in asked[number::clients]:
                await session.request(**request_for(route, question))
            warmed += 1
            if warmed == clients:
                all_warm.set()
            await start.wait()
            turn = number
            while time.perf_counter() < deadline:
                question = asked[turn % len(asked)]
                turn += 1
                began = time.perf_counter()
                response = await session.request(**request_for(route, question))
                latencies.append(time.perf_counter() - began)
                errors += response.status_code != 200

    tasks = [asyncio.create_task(client(n)) for n in range(clients)]
    await all_warm.wait()
    began = time.perf_counter()
    deadline = began + seconds
    start.set()
    await asyncio.gather(*tasks)
    return summary("http", route, clients, latencies, errors, time.perf_counter() - began)


# -- through the library -------------------------------------------------------------------


def library_cell(index, route: str, clients: int, asked: list[str], seconds: float):
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def run(question: str) -> None:
        if route == "search":
            index.search(question, k=5)
        else:
            index.ask(question)

    def client(number: int) -> None:
        for question in asked[number::clients]:  # the warm-up pass, shared out
            run(question)
        barrier.wait()
        barrier.wait()  # the deadline is set between the two
        turn = number
        mine = []
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            run(asked[turn % len(asked)])
            mine.append(time.perf_counter() - began)
            turn += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    deadline[0] = began + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    return summary("library", route, clients, latencies, 0, time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per cell")
    parser.add_argument("--clients", default="1,4,16", help="concurrent clients, comma-separated")
    parser.add_argument("--workers", type=int, help="the server's --workers (default: its own)")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    asked = questions()

    from assistant import Index, IndexWriter

    rows = []
    # Other work on the machine takes cores from the server and its clients alike.
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("ASSISTANT_USER_DIR", str(Path(tmp) / "user"))
        index_dir = Path(tmp) / "index"
        IndexWriter(index_dir).build([str(SEEDS)])
        process, url = start_server(index_dir, args.workers)
        try:
            for route in ("search", "ask"):
                for clients in counts:
                    rows.append(asyncio.run(http_cell(url, route, clients, asked, args.seconds)))
                    print(_line(rows[-1]), flush=True)
        finally:
            process.terminate()
            process.wait(30)
        index = Index(index_dir)
        index.warm_up()
        for route in ("search", "ask"):
            for clients in counts:
                rows.append(library_cell(index, route, clients, asked, args.seconds))
                print(_line(rows[-1]), flush=True)
        facts = index.status(check_files=False)
        index.close()

    headers = ["via", "route", "clients", "requests", "errors", "p50 ms", "p99 ms", "req/s"]
    print()
    print(table(headers, [list(row.values()) for row in rows]))
    path = write_json(
        "serve",
        {
            "index": {"documents": facts.documents, "passages": facts.passages},
            "questions": len(asked),
            "seconds_per_cell": args.seconds,
            "server_workers": args.workers or "default (16)",
            "load_average": {"before": load_before, "after": os.getloadavg()},
            "results": rows,
        },
    )
    load = ", ".join(f"{v:.1f}" for v in (*load_before, *os.getloadavg()))
    print(f"\nload average (1, 5, 15 min) before and after: {load}")
    print(f"written: {path.relative_to(ROOT)}")


def _line(row: dict) -> str:
    return (
        f"{row['via']:8} {row['route']:6} {row['clients']:3d} clients: p50 {row['p50_ms']} ms,"
        f" p99 {row['p99_ms']} ms, {row['requests_per_s']} req/s ({row['errors']} errors)"
    )


if __name__ == "__main__":
    main()
