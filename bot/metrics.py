"""Prometheus metrics: what the bot was asked, how it answered and how long it took."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES_IN = Counter("helpdesk_messages_in", "Messages received from users", ["channel", "lang"])
MESSAGES_OUT = Counter("helpdesk_messages_out", "Messages sent to users", ["channel", "lang"])
OUTCOMES = Counter(
    "helpdesk_outcomes",
    "What became of each message: answered, abstained, off_topic, escalated, intent, ticket, invalid, duplicate, error",
    ["channel", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "helpdesk_handle_seconds",
    "Time to understand a message and decide the replies",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
WEBHOOKS_REJECTED = Counter(
    "helpdesk_webhooks_rejected",
    "Webhook requests refused: 403 (bad signature or secret), 400 (malformed), 413 (too large), 415 (not a form)",
    ["path", "status"],
)
OUTBOX_FAILED = Counter(
    "helpdesk_outbox_failed",
    "Outgoing messages that failed for good (the reason is stored with the message)",
    ["channel", "kind"],
)
REMINDERS_SKIPPED = Counter(
    "helpdesk_reminders_skipped",
    "Reminders not sent: opted_out, no_channel (no reachable channel), shared_phone, nothing_pending",
    ["reason"],
)
