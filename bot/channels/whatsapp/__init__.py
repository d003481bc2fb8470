"""WhatsApp through Twilio: signed webhooks in (`inbound`), TwiML replies out (`twiml`), delivery
reports (`status`). Sending queued messages is the outbox's job, through `bot.providers.twilio`."""

from __future__ import annotations

from starlette.routing import Route

from bot.channels.whatsapp.inbound import CHANNEL, WEBHOOK_PATH, Answer, turn_queue, whatsapp_webhook
from bot.channels.whatsapp.status import twilio_status_callback
from bot.providers.twilio import STATUS_PATH


def routes() -> list[Route]:
    """The two Twilio routes, to add to the web application's route list."""
    return [
        Route(WEBHOOK_PATH, whatsapp_webhook, methods=["POST"]),
        Route(STATUS_PATH, twilio_status_callback, methods=["POST"]),
    ]


__all__ = ["CHANNEL", "STATUS_PATH", "WEBHOOK_PATH", "Answer", "routes", "turn_queue"]
