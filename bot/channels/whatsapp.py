"""WhatsApp through Twilio: signed webhooks in, TwiML replies out, queued messages by the REST API.

Inbound (`POST /twilio/whatsapp`): a form post signed with `X-Twilio-Signature`, turned into one
`Incoming`; the engine's replies (and anything queued for the user) go back in the same TwiML
response. Status callbacks (`POST /twilio/status`) move an outbox message's `delivery_status`
forward only. Outbound (`WhatsAppSender`): staff replies and other queued messages through
`client.messages.create`; outside WhatsApp's 24-hour window only an approved template may go, so the
template says an answer is waiting and the message itself waits for the user's next message.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from sqlalchemy import bindparam, func, or_, update
from sqlmodel import col, select
from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from bot.config import Settings
from bot.db import session_scope
from bot.dialogue import Engine
from bot.dialogue.batching import TurnQueue
from bot.dialogue.delivery import LEASE, MAX_ATTEMPTS, Outgoing, claim, finish
from bot.logs import mask
from bot.messages import Attachment, Incoming, Reply, split_reply
from bot.models import Conversation, OutboxMessage, utcnow
from bot.phones import PhoneError, to_e164

if TYPE_CHECKING:
    from twilio.rest.api.v2010.account.message import MessageInstance

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/twilio/whatsapp"
STATUS_PATH = "/twilio/status"
MAX_BODY_BYTES = 64 * 1024  # Twilio's webhook forms are a few kB even with ten media items
MAX_FORM_FIELDS = 200
MAX_MEDIA = 10  # WhatsApp messages carry at most ten media items
MAX_ID_CHARS = 64  # the receipts' external_id column
MAX_REF_CHARS = 500  # ticket_message.attachment_ref
MAX_MESSAGE_CHARS = 1600  # Twilio's limit for one message body
XML = "application/xml"
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 cannot carry
FORM = "application/x-www-form-urlencoded"

# WhatsApp lets a business send free text for 24 hours after the user's last message; keep a margin
# for clocks and queues, and after it send only the approved template.
FREE_TEXT_WINDOW = timedelta(hours=24) - timedelta(minutes=10)
# A message announced by the template waits this long for the user to write back before it is
# claimed again (and announced again, until the delivery attempts run out).
HOLD = timedelta(days=7)
HELD = "held"  # delivery_status of a message that waits for the user's next message
TEMPLATE_FALLBACK_LABEL = "iGOT Karmayogi"  # the template's {{1}} when the message has no ticket
HTTP_TIMEOUT_SECONDS = 15.0

# The carrier's opt-out and opt-in keywords act at once, whatever else is going on (an open ticket,
# a pending question): WhatsApp users expect "STOP" to work like it does for SMS.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe"})
OPT_IN_WORDS = frozenset({"start", "unstop"})

# Delivery states in the order Twilio moves a message through them; failures are final.
PROGRESS = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5}
FAILURES = frozenset({"failed", "undelivered", "canceled"})
OUTSIDE_WINDOW_ERROR = 63016

# Twilio errors that no retry will cure (https://www.twilio.com/docs/api/errors/<code>).
PERMANENT_ERRORS = frozenset(
    {
        21211,  # invalid 'To' phone number
        21408,  # permission to send to this region not enabled
        21610,  # recipient unsubscribed
        21612,  # 'To' not reachable from this 'From'
        21614,  # 'To' is not a valid mobile number
        21617,  # body exceeds 1,600 characters
        21656,  # ContentVariables invalid
        63003,  # channel could not find the 'To' address (not on WhatsApp)
        63013,  # channel policy violation
        63014,  # blocked by the user
        63021,  # content rejected by the channel
        63024,  # invalid message recipient
        63027,  # template does not exist for language and locale
        63028,  # number of template parameters does not match
        63030,  # unsupported parameter for this kind of message
        63032,  # WhatsApp will not deliver to this user
    }
)
RATE_LIMITED_ERRORS = frozenset({20429, 63018})
SEND_ERRORS = (TwilioException, requests.RequestException)  # anything else is a bug: it propagates


# Inbound --------------------------------------------------------------------------------------


class Refused(Exception):
    """A webhook request that is not handled, with the HTTP status that says why."""

    def __init__(self, status_code: int, reason: str):
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


async def whatsapp_webhook(request: Request) -> Response:
    """`POST /twilio/whatsapp`: one signed WhatsApp message in, the bot's replies out as TwiML."""
    settings: Settings = request.app.state.settings
    turns: TurnQueue = request.app.state.whatsapp_turns
    try:
        form = await verified_form(request, settings)
        incoming = incoming_from_form(form)
    except Refused as refused:
        return PlainTextResponse(refused.reason, status_code=refused.status_code)
    replies = await turns.handle(incoming)
    return Response(twiml(replies), media_type=XML)


async def twilio_status_callback(request: Request) -> Response:
    """`POST /twilio/status`: a signed delivery report moves the outbox message's status forward."""
    settings: Settings = request.app.state.settings
    engine: Engine = request.app.state.engine
    try:
        form = await verified_form(request, settings)
    except Refused as refused:
        return PlainTextResponse(refused.reason, status_code=refused.status_code)
    sid = str(form.get("MessageSid") or "")
    status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not status:
        return PlainTextResponse("MessageSid and MessageStatus are required", status_code=400)
    error_code = str(form.get("ErrorCode") or "") or None
    await asyncio.to_thread(record_status, engine, sid=sid, status=status, error_code=error_code)
    return Response(status_code=204)


def turn_queue(engine: Engine) -> TurnQueue:
    """The queue that batches this worker's concurrent WhatsApp messages (see `TurnQueue`)."""
    return TurnQueue(functools.partial(answer_many, engine))


def routes() -> list[Route]:
    """The two Twilio routes, to add to the web application's route list."""
    return [
        Route(WEBHOOK_PATH, whatsapp_webhook, methods=["POST"]),
        Route(STATUS_PATH, twilio_status_callback, methods=["POST"]),
    ]


async def verified_form(request: Request, settings: Settings) -> FormData:
    """The request's form fields, once the body is a small form and Twilio's signature checks out."""
    signature = request.headers.get("x-twilio-signature")
    if not settings.twilio_auth_token:
        raise Refused(403, "WhatsApp is not configured")
    if not signature:
        raise Refused(403, "missing signature")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise Refused(415, "expected application/x-www-form-urlencoded")
    body = await read_body(request, MAX_BODY_BYTES)
    form = parse_form(body)
    url = signed_url(request, settings.public_base_url)
    if not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        logger.warning("twilio webhook with an invalid signature path=%s", request.url.path)
        raise Refused(403, "invalid signature")
    return form


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "bad Content-Length")
        if int(declared) > limit:
            raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, "body too large")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "client disconnected") from None
    return b"".join(chunks)


def parse_form(body: bytes) -> FormData:
    """An url-encoded UTF-8 form; anything else is a malformed request (400)."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:  # UnicodeDecodeError is one too
        raise Refused(400, "malformed form body") from None
    return FormData(pairs)  # type: ignore[arg-type]  # starlette wants list[tuple[str, str | UploadFile]]: invariant


def signed_url(request: Request, public_base_url: str | None) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (+ query) behind a proxy, else the request's own."""
    if not public_base_url:
        return str(request.url)
    url = public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


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


def answer_many(engine: Engine, messages: Sequence[Incoming]) -> list[list[Reply]]:
    """The engine's replies to each message, then whatever was queued for its user; nothing for a retry."""
    answers = engine.handle_many(messages)
    last_answered = {incoming.user_key: index for index, incoming in enumerate(messages) if answers[index]}
    try:
        for user_key in users_with_waiting(engine, last_answered):
            answers[last_answered[user_key]] += take_waiting(engine, user_key)
    except Exception:
        logger.exception("could not deliver queued messages to %d users", len(last_answered))
    return answers


def take_waiting(engine: Engine, user_key: str) -> list[Reply]:
    """Queued messages for this user (held or not), marked delivered: they go out in this response."""
    release_held(engine, user_key)
    outgoing = claim(engine, channel=CHANNEL, user_key=user_key)
    for item in outgoing:
        finish(engine, item.outbox_id)
    return [item.reply for item in outgoing]


def users_with_waiting(engine: Engine, user_keys: Iterable[str]) -> list[str]:
    """Those of these WhatsApp users who have anything undelivered queued: one indexed read per batch."""
    keys = list(user_keys)
    if not keys:
        return []
    # One statement that reads: no transaction to open and commit around it (two round trips fewer).
    with engine.db.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return list(connection.execute(_USERS_WITH_WAITING, {"keys": keys}).scalars())


# Built once: composing a statement costs more than running it.
_USERS_WITH_WAITING = (
    select(Conversation.user_key)
    .join(OutboxMessage, col(Conversation.id) == OutboxMessage.conversation_id)
    .where(
        Conversation.channel == CHANNEL,
        col(Conversation.user_key).in_(bindparam("keys", expanding=True)),
        col(OutboxMessage.delivered_at).is_(None),
        col(OutboxMessage.failed_at).is_(None),
    )
    .distinct()
)


def twiml(replies: Iterable[Reply]) -> str:
    """The replies as a TwiML document, one `<Message>` per part; `<Response/>` when there are none."""
    response = MessagingResponse()
    for reply in replies:
        for body in message_bodies(reply):
            response.message(body)
    return str(response)


def message_bodies(reply: Reply, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """One reply as WhatsApp message bodies of at most `limit` characters, options numbered at the end."""
    flat = Reply(numbered(reply))
    return [part.text for part in split_reply(flat, limit) if part.text.strip()]


def numbered(reply: Reply) -> str:
    """The reply's text with its options as lines "1. Yes" under it, so the user answers with a digit."""
    lines = [reply.text] if reply.text else []
    lines.extend(f"{number}. {option.label}" for number, option in enumerate(reply.options, start=1))
    return _XML_UNSAFE.sub("", "\n".join(lines))


# Delivery status callbacks --------------------------------------------------------------------


def next_delivery_status(current: str | None, reported: str) -> str | None:
    """The status to keep when `reported` arrives for a message at `current`: forward only, failures final.

    Callbacks can arrive out of order (`delivered` after `read`); a failure cannot undo a delivery,
    and nothing moves a failed message. Unknown reports change nothing.
    """
    if current in FAILURES:
        return current
    if reported in FAILURES:
        return current if current in ("delivered", "read") else reported
    if reported not in PROGRESS:
        return current
    if current not in PROGRESS:  # nothing yet, or held for the window
        return reported
    return reported if PROGRESS[reported] > PROGRESS[current] else current


def replaceable_by(reported: str) -> list[str]:
    """The stored statuses that `reported` may overwrite (besides none at all)."""
    known = [*PROGRESS, *FAILURES, HELD]
    return [status for status in known if status != reported and next_delivery_status(status, reported) == reported]


def record_status(engine: Engine, *, sid: str, status: str, error_code: str | None = None) -> bool:
    """Store a delivery report in one conditional UPDATE, so racing callbacks never step back.

    Returns whether a message changed. A WhatsApp "outside the window" failure (63016) does not lose
    the message: it waits for the user's next message, like a message announced by the template.
    """
    allowed = replaceable_by(status)
    if not allowed:
        return False
    now = utcnow()
    values: dict[str, object] = {"delivery_status": status}
    if status in FAILURES:
        values["last_error"] = f"twilio {error_code or 'unknown'}: {status}"
        values["failed_at"] = func.coalesce(OutboxMessage.failed_at, now)
        if error_code == str(OUTSIDE_WINDOW_ERROR):
            values.update(delivery_status=HELD, failed_at=None, delivered_at=None, claimed_at=now + HOLD)
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.provider_message_id) == sid,
            or_(col(OutboxMessage.delivery_status).is_(None), col(OutboxMessage.delivery_status).in_(allowed)),
        )
        .values(**values)
    )
    with session_scope(engine.db) as session:
        changed = session.exec(statement).rowcount
    if changed:
        logger.info("twilio status sid=%s status=%s error=%s", sid, status, error_code)
    return bool(changed)


# Outbound -------------------------------------------------------------------------------------


class RebasedHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending every request to another base URL (a test or relay server)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = urlsplit(base_url.rstrip("/"))

    # twilio's own TwilioHttpClient renames its base's `uri` to `url`: no override can match both.
    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:  # type: ignore[override]
        """The request, its scheme and host replaced by the base URL's (and its path prefixed)."""
        parts = urlsplit(url)
        rebased = urlunsplit((self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, ""))
        return super().request(method, rebased, *args, **kwargs)


def twilio_client(settings: Settings) -> Client:
    """The real Twilio REST client from settings; `TWILIO_API_BASE_URL` points it elsewhere."""
    http_client: TwilioHttpClient
    if settings.twilio_api_base_url:
        http_client = RebasedHttpClient(settings.twilio_api_base_url, timeout=HTTP_TIMEOUT_SECONDS)
    else:
        http_client = TwilioHttpClient(timeout=HTTP_TIMEOUT_SECONDS)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def whatsapp_address(number: str) -> str:
    """`+91…` or `whatsapp:+91…` as Twilio's WhatsApp address `whatsapp:+91…`."""
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def is_enabled(settings: Settings) -> bool:
    """Whether WhatsApp is configured: account, token and sender number."""
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from)


@dataclass(frozen=True)
class SendFailure:
    """How a failed Twilio call should be treated."""

    error: str
    permanent: bool = False
    outside_window: bool = False
    rate_limited: bool = False


def classify(error: Exception) -> SendFailure:
    """Permanent (bad number, template rejected), outside the window, or worth retrying (429, 5xx, network)."""
    if isinstance(error, TwilioException) and hasattr(error, "status"):
        status = int(getattr(error, "status", 0) or 0)
        code = getattr(error, "code", None)
        code = int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit()) else None
        text = f"twilio {code or status}: HTTP {status}"
        if code == OUTSIDE_WINDOW_ERROR:
            return SendFailure(text, outside_window=True)
        if code in PERMANENT_ERRORS:
            return SendFailure(text, permanent=True)
        return SendFailure(text, rate_limited=status == 429 or code in RATE_LIMITED_ERRORS)
    if isinstance(error, requests.RequestException):
        return SendFailure(f"network: {type(error).__name__}")
    return SendFailure(f"unexpected: {type(error).__name__}")


SENT = "sent"
Outcome = str | SendFailure  # SENT, HELD, or how it failed


@dataclass(frozen=True)
class _Row:
    """What the sender needs to know of a claimed message beyond `Outgoing`."""

    conversation_id: int
    attempts: int


class WhatsAppSender:
    """Delivers queued messages (staff replies, rating requests, ...) to WhatsApp users through Twilio."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: Settings | None = None,
        template_sid: str | Mapping[str, str] | None = None,
        client: Client | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        """`template_sid`: the approved "an answer is waiting" content template (HX…), or one per language."""
        self.engine = engine
        self.settings = settings or engine.settings
        if not is_enabled(self.settings) or self.settings.twilio_whatsapp_from is None:
            raise ValueError("WhatsApp needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM")
        self.client = client or twilio_client(self.settings)
        self.sender = whatsapp_address(self.settings.twilio_whatsapp_from)
        base = (self.settings.public_base_url or "").rstrip("/")
        self.status_callback = f"{base}{STATUS_PATH}" if base else None
        self.templates: dict[str, str] = (
            {"*": template_sid} if isinstance(template_sid, str) else dict(template_sid or {})
        )
        self.clock = clock

    def deliver_outbox(self) -> int:
        """Send what is queued for WhatsApp users; the number of messages handed to Twilio as text."""
        outgoing = claim(self.engine, channel=CHANNEL)
        if not outgoing:
            return 0
        rows = self._rows(outgoing)
        announced: set[str] = set()  # users who got the template in this round
        behind: set[str] = set()  # users with a message to retry: theirs wait, to keep the order
        sent = 0
        for index, item in enumerate(outgoing):
            row = rows[item.outbox_id]
            if item.user_key in behind:
                finish(self.engine, item.outbox_id, error="waits for an earlier message to the same user")
                continue
            if self.in_window(item.last_inbound_at):
                outcome = self._send_text(item, row, announced)
            else:
                outcome = self._announce(item, row, announced)
            sent += outcome == SENT
            if isinstance(outcome, SendFailure) and not outcome.permanent:
                behind.add(item.user_key)
            if isinstance(outcome, SendFailure) and outcome.rate_limited:
                # Back off: the rest of this round waits for the next one.
                for later in outgoing[index + 1 :]:
                    finish(self.engine, later.outbox_id, error=outcome.error)
                logger.warning("twilio rate limit: %d messages wait for the next round", len(outgoing) - index - 1)
                break
        return sent

    def in_window(self, last_inbound_at: datetime | None) -> bool:
        """Whether WhatsApp still allows free text: the user wrote within the last 24 hours."""
        return last_inbound_at is not None and self.clock() - last_inbound_at < FREE_TEXT_WINDOW

    def run_outbox_loop(self, interval: float = 2.0, stop: threading.Event | None = None) -> None:
        """Deliver the outbox every `interval` seconds until `stop` is set (blocking; a thread's target)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.deliver_outbox()
            except Exception:
                logger.exception("whatsapp outbox round failed")
            stop.wait(interval)

    def _send_text(self, item: Outgoing, row: _Row, announced: set[str]) -> Outcome:
        """Free text within the window, split at 1,600 characters; the outbox row records the last part's SID."""
        sid = None
        try:
            for body in message_bodies(item.reply):
                sid = self._create(item.user_key, body=body).sid
        except SEND_ERRORS as error:
            failure = classify(error)
            if failure.outside_window:  # our clock thought the window open; Twilio knows better
                return self._announce(item, row, announced)
            self._fail(item, failure)
            return failure
        finish(self.engine, item.outbox_id, provider_message_id=sid)
        logger.info("whatsapp %s sent to %s sid=%s", item.kind, mask(item.user_key), sid)
        return SENT

    def _announce(self, item: Outgoing, row: _Row, announced: set[str]) -> Outcome:
        """Outside the window: the template tells the user an answer waits; the message is held for them."""
        if row.attempts >= MAX_ATTEMPTS:  # announced again and again, and the user never wrote back
            failure = SendFailure("outside the WhatsApp window: the user never wrote back", permanent=True)
            self._fail(item, failure)
            return failure
        if item.user_key in announced or self._already_announced(row.conversation_id, item.outbox_id):
            return self._hold(item)
        content_sid = self.template_for(item.lang)
        if content_sid is None:
            logger.warning("no WhatsApp template configured: message %s waits for the user", item.outbox_id)
            return self._hold(item)
        variables = json.dumps({"1": item.ticket_ref or TEMPLATE_FALLBACK_LABEL}, ensure_ascii=False)
        try:
            sid = self._create(item.user_key, content_sid=content_sid, content_variables=variables).sid
        except SEND_ERRORS as error:
            failure = classify(error)
            self._fail(item, failure)
            return failure
        announced.add(item.user_key)
        logger.info("whatsapp template sent to %s sid=%s for message %s", mask(item.user_key), sid, item.outbox_id)
        return self._hold(item)

    def template_for(self, lang: str) -> str | None:
        """The content SID of the "an answer is waiting" template in the user's language, else any."""
        for key in (lang, self.settings.default_language, "*"):
            if self.templates.get(key):
                return self.templates[key]
        return next(iter(self.templates.values()), None)

    def _create(self, user_key: str, **content: str) -> MessageInstance:
        """One `messages.create` call to the user, with the status callback when there is a public URL."""
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        return self.client.messages.create(from_=self.sender, to=whatsapp_address(user_key), **extra, **content)

    def _fail(self, item: Outgoing, failure: SendFailure) -> None:
        """Report a failed send: given up when permanent, otherwise retried in a later round."""
        logger.warning("whatsapp send to %s failed: %s", mask(item.user_key), failure.error)
        finish(self.engine, item.outbox_id, error=failure.error, permanent=failure.permanent)

    def _rows(self, outgoing: list[Outgoing]) -> dict[int, _Row]:
        """Conversation and attempts of each claimed message; a re-claimed held message is no longer held."""
        with session_scope(self.engine.db) as session:
            rows = {}
            for item in outgoing:
                message = session.get_one(OutboxMessage, item.outbox_id)
                if message.delivery_status == HELD:
                    message.delivery_status = None
                rows[item.outbox_id] = _Row(message.conversation_id, message.attempts)
            return rows

    def _already_announced(self, conversation_id: int, outbox_id: int) -> bool:
        """Whether another message of this user is held after a template: one announcement is enough."""
        with session_scope(self.engine.db) as session:
            query = select(col(OutboxMessage.id)).where(
                col(OutboxMessage.conversation_id) == conversation_id,
                col(OutboxMessage.id) != outbox_id,
                col(OutboxMessage.delivery_status) == HELD,
                col(OutboxMessage.delivered_at).is_(None),
                col(OutboxMessage.failed_at).is_(None),
                col(OutboxMessage.claimed_at) >= self.clock() - LEASE,
            )
            return session.exec(query).first() is not None

    def _hold(self, item: Outgoing) -> Outcome:
        """Keep the message for the user's next message."""
        if not hold(self.engine, item, until=self.clock() + HOLD):
            logger.info("message %s released: the user wrote while it was being announced", item.outbox_id)
        return HELD


def hold(engine: Engine, item: Outgoing, *, until: datetime) -> bool:
    """Hold a claimed message until the user writes (or `until`); False if they wrote since it was claimed."""
    with session_scope(engine.db) as session:
        message = session.get_one(OutboxMessage, item.outbox_id)
        conversation = session.get_one(Conversation, message.conversation_id)
        wrote = conversation.last_inbound_at
        if wrote is not None and (item.last_inbound_at is None or wrote > item.last_inbound_at):
            message.claimed_at = None  # the window opened again while we were sending the template
            return False
        message.claimed_at = until
        message.delivery_status = HELD
        return True


def release_held(engine: Engine, user_key: str) -> int:
    """The user wrote: their held messages become claimable at once (and are sent in the reply)."""
    conversations = select(Conversation.id).where(Conversation.channel == CHANNEL, Conversation.user_key == user_key)
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.conversation_id).in_(conversations.scalar_subquery()),
            col(OutboxMessage.delivery_status) == HELD,
            col(OutboxMessage.delivered_at).is_(None),
            col(OutboxMessage.failed_at).is_(None),
        )
        .values(claimed_at=None, delivery_status=None)
    )
    with session_scope(engine.db) as session:
        return session.exec(statement).rowcount


async def run_outbox_task(sender: WhatsAppSender, interval: float = 2.0) -> None:
    """The outbox loop as an asyncio task (for the web server's lifespan); cancel it to stop."""
    while True:
        try:
            await asyncio.to_thread(sender.deliver_outbox)
        except Exception:
            logger.exception("whatsapp outbox round failed")
        await asyncio.sleep(interval)
