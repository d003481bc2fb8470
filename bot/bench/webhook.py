"""Signed WhatsApp posts over loopback from a separate load process, against `helpdesk serve`.

The ceiling is a bare endpoint of the same stack (Starlette on uvicorn, same worker count) that
answers every post with a constant `<Response/>`: what the server could do if the bot did nothing.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

TOKEN = "bench-auth-token"
PUBLIC = "https://helpdesk.bench.invalid"
PATH = "/twilio/whatsapp"
QUERIES = ("certificate kaise milega", "otp nahi aa raha", "how do I download my certificate", "पासवर्ड भूल गया",
           "profile verify nahi hua", "mera status", "thank you", "menu")  # fmt: skip


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
        return probe.getsockname()[1]


def _signed(index: int, prefix: str) -> tuple[dict[str, str], str]:
    params = {
        "MessageSid": f"SM{prefix}{index:026d}",
        "AccountSid": "ACbench",
        "From": f"whatsapp:+9198{index % 5000:08d}",
        "To": "whatsapp:+14155238886",
        "Body": QUERIES[index % len(QUERIES)],
        "NumMedia": "0",
    }
    return params, RequestValidator(TOKEN).compute_signature(PUBLIC + PATH, params)


async def _load(url: str, *, total: int, concurrency: int, rate: float | None, prefix: str) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    start = time.perf_counter()

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for index in counter:
            if rate:  # open-loop pacing: request i leaves at i / rate
                await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            params, signature = _signed(index, prefix)
            sent = time.perf_counter()
            try:
                response = await client.post(url, data=params, headers={"X-Twilio-Signature": signature})
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - sent)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    seconds = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(len(latencies), seconds, cuts[49] * 1000, cuts[98] * 1000, errors)


def _load_process(url: str, total: int, concurrency: int, rate: float | None, prefix: str, results) -> None:
    results.put(asyncio.run(_load(url, total=total, concurrency=concurrency, rate=rate, prefix=prefix)))


def run_load(url: str, *, total: int, concurrency: int, rate: float | None = None, prefix: str = "A") -> LoadResult:
    """The load, from a separate process so it does not share the server's interpreter."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_load_process, args=(url, total, concurrency, rate, prefix, results))
    process.start()
    result = results.get()
    process.join()
    return result


def _start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"server did not start: {server.stderr.read().decode()[-2000:]}")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def bench_webhook(*, database_urls: dict[str, str], workers: tuple[int, ...], requests: int, workdir: Path) -> str:
    """Throughput and latency of the real webhook beside the bare endpoint, per database and workers."""
    lines = [
        f"{requests} signed WhatsApp posts per run, 32 concurrent; then 200 posts/s for 10 s",
        f"{'':26}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>7}{'p99@200/s':>11}",
    ]
    environment = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC, "LOG_LEVEL": "WARNING",
                   "TWILIO_ACCOUNT_SID": "", "TELEGRAM_BOT_TOKEN": ""}  # fmt: skip
    for count in workers:
        port = _free_port()
        bare = _start([sys.executable, "-m", "uvicorn", "bot.bench.bare:app", "--port", str(port), "--workers",
                       str(count), "--log-level", "warning"], environment, port)  # fmt: skip
        try:
            ceiling = run_load(f"http://127.0.0.1:{port}{PATH}", total=requests, concurrency=32, prefix="B")
        finally:
            _stop(bare)
        lines.append(f"{'bare endpoint, ' + str(count) + ' worker(s)':26}{ceiling.rate:>9.0f}{ceiling.p50_ms:>9.1f}"
                     f"{ceiling.p99_ms:>9.1f}{'1.00':>7}")  # fmt: skip
        for name, url in database_urls.items():
            if url.startswith("sqlite"):
                Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            env = {**environment, "DATABASE_URL": url}
            subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
            port = _free_port()
            server = _start([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(count)], env, port)
            try:
                result = run_load(f"http://127.0.0.1:{port}{PATH}", total=requests, concurrency=32, prefix=f"{name[:1]}{count}")
                paced = run_load(f"http://127.0.0.1:{port}{PATH}", total=2000, concurrency=64, rate=200.0,
                                 prefix=f"P{name[:1]}{count}")  # fmt: skip
            finally:
                _stop(server)
            lines.append(
                f"{name + ', ' + str(count) + ' worker(s)':26}{result.rate:>9.0f}{result.p50_ms:>9.1f}"
                f"{result.p99_ms:>9.1f}{result.rate / ceiling.rate:>7.2f}{paced.p99_ms:>11.1f}"
                + (f"  ({result.errors + paced.errors} errors)" if result.errors + paced.errors else "")
            )
    return "\n".join(lines)
