"""Signed WhatsApp posts over loopback from a separate load process, against `helpdesk serve`.

The ceiling is a bare endpoint of the same stack (Starlette on uvicorn, same worker count) that
answers every post with a constant `<Response/>`: what the server could do if the bot did nothing.

The paced run's latency counts from each request's scheduled send time, not from when a load worker
got round to sending it: a stalled server holds back the requests due behind the stall, and that wait
is latency the users would see (timing from the actual send hides it: coordinated omission).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import WEBHOOK_PATH as PATH
from bot.knowledge import load_knowledge

TOKEN = "bench-auth-token"
PUBLIC = "https://helpdesk.bench.invalid"


@dataclass(frozen=True)
class LoadResult:
    sent: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def message_texts(content_dir: Path) -> list[str]:
    """Every example question of the knowledge base, in all three writings, in a fixed shuffled order.

    Mostly different texts, so the bot's memory of recent messages rarely helps: a harder load than
    a real rush, where the same few questions come back again and again.
    """
    texts = [text for _, text in load_knowledge(content_dir).labelled_examples()]
    random.Random(7).shuffle(texts)
    return texts


def signed_post(index: int, prefix: str, text: str) -> tuple[dict[str, str], str]:
    """The form of one inbound WhatsApp message from user `index` (one of 5,000), and its signature."""
    params = {
        "MessageSid": f"SM{prefix}{index:026d}",
        "AccountSid": "ACbench",
        "From": f"whatsapp:+9198{index % 5000:08d}",
        "To": "whatsapp:+14155238886",
        "Body": text,
        "NumMedia": "0",
    }
    return params, RequestValidator(TOKEN).compute_signature(PUBLIC + PATH, params)


def _requests(port: int, total: int, prefix: str, texts: list[str]) -> list[bytes]:
    """Every request built and signed before the clock starts, so the load process stays light."""
    built = []
    for index in range(total):
        params, signature = signed_post(index, prefix, texts[index % len(texts)])
        body = urlencode(params).encode()
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        built.append(head.encode() + body)
    return built


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection; the response's status code."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _load(
    port: int, *, total: int, concurrency: int, rate: float | None, prefix: str, texts: list[str]
) -> LoadResult:
    requests = _requests(port, total, prefix, texts)
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for index in counter:
            due = start + index / rate if rate else None  # open loop: request i is due at i / rate
            if due is not None:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = time.perf_counter()
            try:
                errors += await _exchange(reader, writer, requests[index]) != 200
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            # Paced: from when it was due (see the module's docstring); closed loop: from the send.
            latencies.append(time.perf_counter() - (sent if due is None else due))
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(len(latencies), seconds, cuts[49] * 1000, cuts[98] * 1000, errors)


def _load_process(
    port: int,
    total: int,
    concurrency: int,
    rate: float | None,
    prefix: str,
    texts: list[str],
    results: Queue[LoadResult],
) -> None:
    results.put(asyncio.run(_load(port, total=total, concurrency=concurrency, rate=rate, prefix=prefix, texts=texts)))


def run_load(
    port: int, *, texts: list[str], total: int, concurrency: int, rate: float | None = None, prefix: str = "A"
) -> LoadResult:
    """The load, from a separate process so it does not share the server's interpreter."""
    context = multiprocessing.get_context("spawn")
    results: Queue[LoadResult] = context.Queue()
    process = context.Process(target=_load_process, args=(port, total, concurrency, rate, prefix, texts, results))
    process.start()
    result = results.get()
    process.join()
    return result


def _start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    _, errors = server.communicate(timeout=30)
    raise RuntimeError(f"server did not start: {errors.decode()[-2000:]}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


def bench_webhook(*, database_urls: dict[str, str], workers: tuple[int, ...], requests: int, content_dir: Path) -> str:
    """Throughput and latency of the real webhook beside the bare endpoint, per database and workers."""
    texts = message_texts(content_dir)
    lines = [
        f"{requests} signed WhatsApp posts per run from 5,000 users, 32 concurrent; then 200 posts/s for 10 s",
        f"texts: the {len(texts)} example questions of the knowledge base, shuffled (mostly different)",
        f"{'':26}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>7}{'p99@200/s':>11}",
    ]
    environment = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC, "LOG_LEVEL": "WARNING",
                   "TWILIO_ACCOUNT_SID": "", "TELEGRAM_BOT_TOKEN": ""}  # fmt: skip
    for count in workers:
        ceiling = _reference("bot.bench.bare:app", count, environment, texts, requests)
        lines.append(_row(f"bare endpoint, {count} worker(s)", ceiling, ceiling))
        protocol = _reference("bot.bench.bare:protocol_app", count, environment, texts, requests)
        lines.append(_row(f"protocol only, {count} worker(s)", protocol, ceiling))
        for name, url in database_urls.items():
            if url.startswith("sqlite"):  # a fresh file; a stale -wal beside it would be replayed into it
                database = url.removeprefix("sqlite:///")
                for suffix in ("", "-wal", "-shm", "-writer.lock"):
                    Path(database + suffix).unlink(missing_ok=True)
            env = {**environment, "DATABASE_URL": url}
            subprocess.run(
                [sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
            )
            port = _free_port()
            server = _start(
                [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(count)], env, port
            )
            try:
                result = run_load(port, texts=texts, total=requests, concurrency=32, prefix=f"{name[:1]}{count}")
                paced = run_load(
                    port, texts=texts, total=2000, concurrency=64, rate=200.0, prefix=f"P{name[:1]}{count}"
                )
            finally:
                _stop(server)
            lines.append(_row(f"{name}, {count} worker(s)", result, ceiling, paced))
    lines.append("protocol only: signature, form and TwiML of a fixed answer, no understanding, no database")
    return "\n".join(lines)


def _reference(app: str, workers: int, environment: dict[str, str], texts: list[str], requests: int) -> LoadResult:
    """One of the reference endpoints of `bot.bench.bare` under the same load as the bot."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    server = _start(command, environment, port)
    try:
        return run_load(port, texts=texts, total=requests, concurrency=32, prefix="R")
    finally:
        _stop(server)


def _row(name: str, result: LoadResult, ceiling: LoadResult, paced: LoadResult | None = None) -> str:
    errors = result.errors + (paced.errors if paced else 0)
    return (
        f"{name:26}{result.rate:>9.0f}{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}{result.rate / ceiling.rate:>7.2f}"
        + (f"{paced.p99_ms:>11.1f}" if paced else "")
        + (f"  ({errors} errors)" if errors else "")
    )
