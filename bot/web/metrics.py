"""`/metrics` for Prometheus, behind a bearer token (METRICS_TOKEN), with the ticket queue's, the
outbox's and the reminders' figures read from the database at each scrape (the same whichever worker
answers) and a count of refused webhook requests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import metrics
from bot.db import session_scope
from bot.delivery.backlog import outbox_figures
from bot.reminders.report import status_counts
from bot.tickets.service import queue_counts

WEBHOOK_PREFIXES = ("/telegram/", "/twilio/")
REJECTED = frozenset({400, 403, 413, 415})


class TicketQueue(Collector):
    """Open and overdue tickets, counted in the database (the same for every worker, unlike counters)."""

    def __init__(self, db: Engine):
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with session_scope(self.db) as session:
            active, overdue = queue_counts(session)
        yield GaugeMetricFamily(
            "helpdesk_tickets_open", "Tickets the helpdesk still works on (open, assigned, waiting)", value=active
        )
        yield GaugeMetricFamily("helpdesk_tickets_overdue", "Of those, tickets past their SLA", value=overdue)


class Deliveries(Collector):
    """The outbox's backlog and failures by channel, and reminders sent and failed, from the database."""

    def __init__(self, db: Engine):
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with session_scope(self.db) as session:
            waiting, failed = outbox_figures(session)
            reminders = status_counts(session)
        backlog = GaugeMetricFamily(
            "helpdesk_outbox_backlog",
            "Outgoing messages waiting: queued (or being sent), or held until the WhatsApp user writes",
            labels=["channel", "state"],
        )
        for (channel, state), count in sorted(waiting.items()):
            backlog.add_metric([channel, state], count)
        yield backlog
        failures = GaugeMetricFamily(
            "helpdesk_outbox_failed_messages",
            "Outgoing messages that failed for good, kept with their reason (all workers, all time)",
            labels=["channel"],
        )
        for channel, count in sorted(failed.items()):
            failures.add_metric([channel], count)
        yield failures
        yield GaugeMetricFamily(
            "helpdesk_reminders_sent", "Reminders handed to the provider (all time)", value=reminders["sent"]
        )
        yield GaugeMetricFamily(
            "helpdesk_reminders_failed", "Reminders that failed for good (all time)", value=reminders["failed"]
        )


def _exposition(db: Engine) -> bytes:
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    queue = CollectorRegistry(auto_describe=False)
    queue.register(TicketQueue(db))
    queue.register(Deliveries(db))
    return generate_latest(registry) + generate_latest(queue)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format, across worker processes when PROMETHEUS_MULTIPROC_DIR is set."""
    expected = request.app.state.settings.metrics_token
    if not expected:
        return PlainTextResponse("metrics are off: set METRICS_TOKEN and scrape with it as a bearer token", 403)
    if not secrets.compare_digest(_bearer(request).encode(), expected.encode()):
        return PlainTextResponse("a bearer token is required", 401, headers={"WWW-Authenticate": "Bearer"})
    body = await run_in_threadpool(_exposition, request.app.state.db)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class RejectedWebhooks:
    """Counts webhook requests answered 400, 403, 413 or 415: malformed, forged, oversized, not a form."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(WEBHOOK_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REJECTED:
                metrics.WEBHOOKS_REJECTED.labels(path, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting)
