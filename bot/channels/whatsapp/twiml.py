"""The reply to an inbound WhatsApp message as TwiML, and queued messages that ride along in it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from twilio.twiml.messaging_response import MessagingResponse

from bot.delivery.items import NotTried, Outgoing, Sent
from bot.delivery.outbox import Outbox
from bot.messages import Reply
from bot.providers.twilio import message_bodies

logger = logging.getLogger(__name__)

XML = "application/xml"


def twiml(replies: Iterable[Reply]) -> str:
    """The replies as a TwiML document, one `<Message>` per part; `<Response/>` when there are none."""
    response = MessagingResponse()
    for reply in replies:
        for body in message_bodies(reply):
            response.message(body)
    return str(response)


class TwimlResponse(Response):
    """The TwiML reply; the queued messages riding in it (leased to this worker) are recorded as sent
    only once the response is written. If writing fails they go back to the queue at once (and
    `unwritten` takes them out of the reply kept for a retry, so they do not go twice); if the worker
    dies first, their lease runs out and the outbox sends them by the REST API."""

    media_type = XML

    def __init__(
        self,
        replies: Sequence[Reply],
        *,
        riding: Sequence[Outgoing] = (),
        outbox: Outbox | None = None,
        unwritten: Callable[[], None] | None = None,
    ):
        super().__init__(twiml(replies), media_type=XML)
        self.riding = list(riding)
        self.outbox = outbox
        self.unwritten = unwritten

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.riding or self.outbox is None:
            await super().__call__(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            logger.warning("a TwiML response with %d queued messages was not written: queued again", len(self.riding))
            await asyncio.to_thread(self.outbox.finish, [(item, NotTried()) for item in self.riding])
            if self.unwritten is not None:
                await asyncio.to_thread(self.unwritten)
            raise
        await asyncio.to_thread(self.outbox.finish, [(item, Sent(None)) for item in self.riding])
