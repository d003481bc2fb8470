"""`POST /twilio/status`: Twilio's signed delivery reports move an outbox message's state forward."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.whatsapp.forms import Refused, verified_form
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.delivery.states import DELIVERED, FAILED, READ, SENT

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
# Twilio's message statuses as the outbox's states; anything else (receiving, ...) changes nothing.
TWILIO_STATES = {
    "accepted": SENT, "scheduled": SENT, "queued": SENT, "sending": SENT, "sent": SENT,
    "delivered": DELIVERED, "read": READ, "failed": FAILED, "undelivered": FAILED, "canceled": FAILED,
}  # fmt: skip
OUTSIDE_WINDOW_ERROR = "63016"


async def twilio_status_callback(request: Request) -> Response:
    """`POST /twilio/status`: a signed delivery report moves the outbox message's state forward."""
    settings: Settings = request.app.state.settings
    outbox: Outbox = request.app.state.outbox
    try:
        form = await verified_form(request, settings)
    except Refused as refused:
        return PlainTextResponse(refused.reason, status_code=refused.status_code)
    sid = str(form.get("MessageSid") or "")
    status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not status:
        return PlainTextResponse("MessageSid and MessageStatus are required", status_code=400)
    error_code = str(form.get("ErrorCode") or "") or None
    await asyncio.to_thread(record_status, outbox, sid=sid, status=status, error_code=error_code)
    return Response(status_code=204)


def record_status(outbox: Outbox, *, sid: str, status: str, error_code: str | None = None) -> bool:
    """Store one delivery report; whether a message changed. A late "outside the window" failure (63016)
    does not lose the message: it waits for the user's next message, like an announced answer."""
    state = TWILIO_STATES.get(status)
    if state is None:
        return False
    if state == FAILED and error_code == OUTSIDE_WINDOW_ERROR:
        changed = outbox.hold_reported(sid)
    else:
        changed = outbox.report(CHANNEL, sid, state, error=f"twilio {error_code or 'unknown'}: {status}")
    if changed:
        logger.info("twilio status sid=%s status=%s error=%s", sid, status, error_code)
    return changed
