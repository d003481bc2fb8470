"""WhatsApp through Twilio's REST API: the client, message bodies, the 24-hour window, error classes.

Used by the WhatsApp channel (TwiML bodies, status reports) and by the outbox. Outside WhatsApp's
24-hour window only an approved template may go: a reminder goes as its campaign's template; an
answer for the user (a staff reply, a rating request) is announced once by the "an answer is waiting"
template and held until the user writes back, when it rides along in the reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.config import Settings
from bot.delivery.items import Failed, Held, Outcome, Outgoing, Sent
from bot.messages import Reply, split_reply
from bot.models import utcnow
from bot.providers.health import Health

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
STATUS_PATH = "/twilio/status"  # where Twilio posts delivery reports (the channel serves it)
MAX_MESSAGE_CHARS = 1600  # Twilio's limit for one message body
HTTP_TIMEOUT_SECONDS = 15.0
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 cannot carry

# WhatsApp lets a business send free text for 24 hours after the user's last message; keep a margin
# for clocks and queues, and after it send only an approved template.
FREE_TEXT_WINDOW = timedelta(hours=24) - timedelta(minutes=10)
TEMPLATE_FALLBACK_LABEL = "iGOT Karmayogi"  # the waiting template's {{1}} when the message has no ticket
HOLDABLE = frozenset({"staff_reply", "rating_request", "bot_reply"})  # answers that wait for the user
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
RATE_LIMIT_PAUSE_SECONDS = 1.0  # Twilio's 429 says no Retry-After: a second, then the backoff
SEND_ERRORS = (TwilioException, requests.RequestException)  # anything else is a bug: it propagates


class OutsideWindow(Exception):
    """Twilio says the 24-hour window is closed (error 63016), whatever our clock thought."""


class RebasedHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending every request to another base URL (a test or relay server)."""

    def __init__(self, base_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.base = urlsplit(base_url.rstrip("/"))

    # twilio's TwilioHttpClient renames its base class's `uri` parameter to `url`: no override matches both.
    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """The request, its scheme and host replaced by the base URL's (and its path prefixed)."""
        parts = urlsplit(url)
        rebased = urlunsplit((self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, ""))
        return super().request(method, rebased, *args, **kwargs)


def is_enabled(settings: Settings) -> bool:
    """Whether WhatsApp is configured: account, token and sender number."""
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from)


def twilio_client(settings: Settings) -> Client:
    """The real Twilio REST client from settings; `TWILIO_API_BASE_URL` points it elsewhere."""
    if settings.twilio_api_base_url:
        http_client: TwilioHttpClient = RebasedHttpClient(settings.twilio_api_base_url, timeout=HTTP_TIMEOUT_SECONDS)
    else:
        http_client = TwilioHttpClient(timeout=HTTP_TIMEOUT_SECONDS)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def whatsapp_address(number: str) -> str:
    """`+91…` or `whatsapp:+91…` as Twilio's WhatsApp address `whatsapp:+91…`."""
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def message_bodies(reply: Reply, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """One reply as WhatsApp message bodies of at most `limit` characters, options numbered at the end."""
    flat = Reply(numbered(reply))
    return [part.text for part in split_reply(flat, limit) if part.text.strip()]


def numbered(reply: Reply) -> str:
    """The reply's text with its options as lines "1. Yes" under it, so the user answers with a digit."""
    lines = [reply.text] if reply.text else []
    lines.extend(f"{number}. {option.label}" for number, option in enumerate(reply.options, start=1))
    return _XML_UNSAFE.sub("", "\n".join(lines))


def classify(error: Exception) -> Failed:
    """Permanent (bad number, template rejected) or worth retrying (429, 5xx, network)."""
    if isinstance(error, TwilioException) and hasattr(error, "status"):
        status = int(getattr(error, "status", 0) or 0)
        raw = getattr(error, "code", None)
        code = int(raw) if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()) else None
        text = f"twilio {code or status}: HTTP {status}"
        if code in PERMANENT_ERRORS:
            return Failed(text, permanent=True)
        limited = status == 429 or code in RATE_LIMITED_ERRORS
        return Failed(text, retry_after=RATE_LIMIT_PAUSE_SECONDS if limited else None)
    if isinstance(error, requests.RequestException):
        return Failed(f"network: {type(error).__name__}")
    return Failed(f"unexpected: {type(error).__name__}")


class TwilioProvider:
    """Sends outbox messages to WhatsApp users (the Twilio client is synchronous: calls run in threads)."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        *,
        client: Client | None = None,
        waiting_templates: Mapping[str, str] | None = None,
        health: Health | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        """`waiting_templates`: the approved "an answer is waiting" content template (HX…) by language."""
        if not is_enabled(settings):
            raise ValueError("WhatsApp needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM")
        self.client = client or twilio_client(settings)
        self.sender = whatsapp_address(settings.twilio_whatsapp_from or "")
        base = (settings.public_base_url or "").rstrip("/")
        self.status_callback = f"{base}{STATUS_PATH}" if base else None
        self.templates = dict(waiting_templates or {})
        self.default_language = settings.default_language
        self.health = health or Health(CHANNEL)
        self.clock = clock

    async def send(self, item: Outgoing) -> Outcome:
        outcome = await asyncio.to_thread(self.deliver, item)
        if isinstance(outcome, Failed) and outcome.reason.startswith("network"):
            self.health.bad(outcome.reason)
        elif not isinstance(outcome, Failed):
            self.health.good()
        return outcome

    def in_window(self, last_inbound_at: datetime | None) -> bool:
        """Whether WhatsApp still allows free text: the user wrote within the last 24 hours."""
        return last_inbound_at is not None and self.clock() - last_inbound_at < FREE_TEXT_WINDOW

    def deliver(self, item: Outgoing) -> Outcome:
        """Free text within the window (split at 1,600 characters; the last part's SID is kept); outside
        it the message's own template, or the announcement and a hold."""
        if self.in_window(item.last_inbound_at):
            try:
                sid = None
                for body in message_bodies(item.reply):
                    sid = self._create(item.user_key, body=body)
                return Sent(sid)
            except OutsideWindow:
                pass  # our clock thought the window open; Twilio knows better
            except SEND_ERRORS as error:
                return self._failed(item, error)
        if item.template:
            return self._template(item, item.template["sid"], item.template.get("variables") or {}, Sent)
        if item.kind not in HOLDABLE:
            return Failed(f"outside the 24-hour window and no approved template for {item.lang}", permanent=True)
        if item.announced:
            return Held()
        content_sid = self.template_for(item.lang)
        if content_sid is None:
            logger.warning("no WhatsApp waiting template configured: message %s waits for the user", item.outbox_id)
            return Held()
        return self._template(item, content_sid, {"1": item.ticket_ref or TEMPLATE_FALLBACK_LABEL}, lambda _: Held())

    def template_for(self, lang: str) -> str | None:
        """The content SID of the "an answer is waiting" template in the user's language, else any."""
        for key in (lang, self.default_language):
            if self.templates.get(key):
                return self.templates[key]
        return next(iter(self.templates.values()), None)

    def _template(
        self, item: Outgoing, content_sid: str, variables: Mapping[str, str], done: Callable[[str], Outcome]
    ) -> Outcome:
        encoded = json.dumps(dict(variables), ensure_ascii=False)
        try:
            sid = self._create(item.user_key, content_sid=content_sid, content_variables=encoded)
        except OutsideWindow as error:
            return Failed(f"template refused outside the window: {error}", permanent=True)
        except SEND_ERRORS as error:
            return self._failed(item, error)
        logger.info("whatsapp template %s sent for outbox message %s sid=%s", content_sid, item.outbox_id, sid)
        return done(sid)

    def _failed(self, item: Outgoing, error: Exception) -> Failed:
        failure = classify(error)
        logger.warning(
            "whatsapp outbox message %s: %s%s",
            item.outbox_id,
            failure.reason,
            " (given up)" if failure.permanent else "",
        )
        return failure

    def _create(self, user_key: str, **content: str) -> str:
        """One `messages.create` call to the user, with the status callback when there is a public URL;
        raises `OutsideWindow` for 63016."""
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            message = self.client.messages.create(from_=self.sender, to=whatsapp_address(user_key), **extra, **content)
        except TwilioException as error:
            if getattr(error, "code", None) in (OUTSIDE_WINDOW_ERROR, str(OUTSIDE_WINDOW_ERROR)):
                raise OutsideWindow(f"twilio {OUTSIDE_WINDOW_ERROR}") from error
            raise
        return str(message.sid)
