"""`POST /twilio/whatsapp`: one signed WhatsApp message in, the bot's replies out as TwiML.

The form becomes one `Incoming`; the engine decides it (batched with concurrent messages, see
`TurnQueue`); anything queued for the user (a staff reply, a held answer) rides along in the same
response. The whole response is kept with the message's receipt, so Twilio's retry of the same
`MessageSid` gets exactly that response again and nothing happens twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.channels.whatsapp.forms import Refused, verified_form
from bot.channels.whatsapp.twiml import TwimlResponse
from bot.config import Settings
from bot.db import session_scope
from bot.delivery.items import Outgoing
from bot.delivery.outbox import Outbox
from bot.dialogue import Engine
from bot.dialogue.batching import TurnQueue
from bot.messages import Attachment, Incoming, Reply
from bot.phones import PhoneError, to_e164
from bot.receipts import keep_replies

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/twilio/whatsapp"
MAX_MEDIA = 10  # WhatsApp messages carry at most ten media items
MAX_ID_CHARS = 64  # the receipts' external_id column
MAX_REF_CHARS = 500  # ticket_message.attachment_ref

# The carrier's opt-out and opt-in keywords act at once, whatever else is going on (an open ticket,
# a pending question): WhatsApp users expect "STOP" to work like it does for SMS.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe"})
OPT_IN_WORDS = frozenset({"start", "unstop"})


@dataclass(frozen=True)
class Answer:
    """The response to one WhatsApp message: the engine's replies, then the queued messages riding along."""

    replies: list[Reply]
    riding: list[Outgoing] = field(default_factory=list)

    @property
    def own(self) -> list[Reply]:
        """The engine's replies alone (what a retry gets if the riders could not be written)."""
        return self.replies[: len(self.replies) - len(self.riding)]


async def whatsapp_webhook(request: Request) -> Response:
    """`POST /twilio/whatsapp`: one signed WhatsApp message in, the bot's replies out as TwiML."""
    settings: Settings = request.app.state.settings
    turns: TurnQueue[Answer] = request.app.state.whatsapp_turns
    try:
        form = await verified_form(request, settings)
        incoming = incoming_from_form(form)
    except Refused as refused:
        return PlainTextResponse(refused.reason, status_code=refused.status_code)
    answer = await turns.handle(incoming)
    if not answer.riding:
        return TwimlResponse(answer.replies)
    engine: Engine = request.app.state.engine
    keep_own = functools.partial(_keep, engine, incoming, answer.own)
    return TwimlResponse(answer.replies, riding=answer.riding, outbox=request.app.state.outbox, unwritten=keep_own)


def turn_queue(engine: Engine, outbox: Outbox) -> TurnQueue[Answer]:
    """The queue that batches this worker's concurrent WhatsApp messages (see `TurnQueue`)."""
    return TurnQueue(functools.partial(answer_many, engine, outbox))


def incoming_from_form(form: FormData) -> Incoming:
    """Twilio's inbound message fields as the engine's `Incoming` (400 when they make no sense)."""
    sid = str(form.get("MessageSid") or form.get("SmsMessageSid") or "")
    if not sid or len(sid) > MAX_ID_CHARS:
        raise Refused(400, "MessageSid is required")
    try:
        phone = to_e164(str(form.get("From") or ""))
    except PhoneError:
        raise Refused(400, "From is not a phone number") from None
    text = str(form.get("Body") or "")
    return Incoming(
        channel=CHANNEL,
        user_key=phone,
        text=text,
        choice=keyword_choice(text),
        verified_phone=phone,  # WhatsApp delivered it from this number: the channel vouches for it
        attachments=attachments_from_form(form),
        external_id=sid,
    )


def keyword_choice(text: str) -> str | None:
    """STOP / START as the carrier keywords: they act at once, even in the middle of a ticket."""
    word = text.strip().strip(".!").lower()
    if word in OPT_OUT_WORDS:
        return "intent:reminders_stop"
    if word in OPT_IN_WORDS:
        return "intent:reminders_start"
    return None


def attachments_from_form(form: FormData) -> tuple[Attachment, ...]:
    """`NumMedia` / `MediaUrl{i}` / `MediaContentType{i}` as attachments referring to Twilio's media URLs."""
    raw = str(form.get("NumMedia") or "0")
    if not raw.isdigit():
        raise Refused(400, "NumMedia is not a number")
    attachments = []
    for index in range(min(int(raw), MAX_MEDIA)):
        url = str(form.get(f"MediaUrl{index}") or "")
        if not url or len(url) > MAX_REF_CHARS:
            continue
        attachments.append(Attachment(kind=media_kind(str(form.get(f"MediaContentType{index}") or "")), ref=url))
    return tuple(attachments)


def media_kind(content_type: str) -> str:
    """photo, sticker (WhatsApp stickers are WebP images), voice, video or document."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "image/webp":
        return "sticker"
    if content_type.startswith("image/"):
        return "photo"
    if content_type.startswith("audio/"):
        return "voice"
    if content_type.startswith("video/"):
        return "video"
    return "document"


def answer_many(engine: Engine, outbox: Outbox, messages: Sequence[Incoming]) -> list[Answer]:
    """The engine's replies to each message, then whatever waits for its user (only for a first delivery:
    a retry gets its stored response, which already carried them)."""
    decided = engine.decide_many(messages, waiting=True)
    answers = [Answer(list(outcome.replies)) for outcome in decided]
    last = {incoming.user_key: index for index, incoming in enumerate(messages) if decided[index].first}
    waiting = {user: index for user, index in last.items() if decided[index].waiting}
    if waiting:
        try:
            _ride_along(engine, outbox, messages, answers, waiting)
        except Exception:
            logger.exception("could not add queued messages to the replies of %d users", len(waiting))
    return answers


def _ride_along(
    engine: Engine, outbox: Outbox, messages: Sequence[Incoming], answers: list[Answer], last: dict[str, int]
) -> None:
    """Lease what waits for these users into their last message's response, and keep that response."""
    riding: dict[str, list[Outgoing]] = {}
    for item in outbox.take_for(CHANNEL, last):
        riding.setdefault(item.user_key, []).append(item)
    for user, items in riding.items():
        index = last[user]
        answers[index] = Answer([*answers[index].replies, *(item.reply for item in items)], items)
        _keep(engine, messages[index], answers[index].replies)


def _keep(engine: Engine, incoming: Incoming, replies: Sequence[Reply]) -> None:
    """The response as it goes out, kept with the message's receipt for Twilio's retry."""
    if incoming.external_id:
        with session_scope(engine.db) as session:
            keep_replies(session, [((CHANNEL, incoming.external_id), replies)])
