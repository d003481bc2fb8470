"""Settings from the environment or `.env` (see `.env.example`), checked when they are read."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.localtime import parse_window, time_zone

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "hi")


class SettingsError(ValueError):
    """The settings cannot be used; each line names the environment variable and what a valid value looks like."""


class Settings(BaseSettings):
    """Every knob of the deployment; names match the environment variables.

    `examples` is what an error message offers as a valid value.
    """

    # An empty value (`TELEGRAM_STAFF_CHAT_ID=` in .env) counts as unset, not as an empty number or name.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    database_url: str = "sqlite:///helpdesk.db"
    content_dir: Path = Field(default=PROJECT_ROOT, description="folder holding faq/, intents/ and locales/")
    # How often each `serve` worker asks the database whether staff changed the knowledge (seconds);
    # a change is answered with within this plus the time to rebuild the matcher.
    knowledge_poll_seconds: float = Field(default=15.0, gt=0, le=60, examples=[15])
    default_language: str = Field(default="hi", pattern="^(en|hi)$", examples=["hi", "en"])
    timezone: str = "Asia/Kolkata"
    ticket_prefix: str = "HD-"
    # Hours the helpdesk promises to answer in, by FAQ topic or its area ("certificate"), else the default.
    ticket_sla_hours: int = Field(default=24, ge=1, examples=[24])
    ticket_sla_hours_by_category: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict, examples=['{"certificate": 48, "profile.transfer": 72}']
    )

    # What the bot adds to answers marked `state_contact` (a state's own helpdesk, nodal officers).
    state_helpdesk_en: str = ""
    state_helpdesk_hi: str = ""

    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str | None = None
    telegram_staff_chat_id: int | None = Field(default=None, examples=[-1001234567890])

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str | None = None
    # Approved WhatsApp content templates ("an answer from the helpdesk is waiting"), by language:
    # outside the 24-hour window free text is not allowed, e.g. {"en": "HX...", "hi": "HX..."}.
    twilio_reply_waiting_templates: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, examples=['{"en": "HX...", "hi": "HX..."}']
    )
    # Approved templates that carry a staff reply itself ({{1}} the ticket reference, {{2}} the reply),
    # by language: the console's "send as template" for a reply held or failed outside the window.
    twilio_reply_templates: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, examples=['{"en": "HX...", "hi": "HX..."}']
    )
    public_base_url: str | None = None
    # Files users send (screenshots, documents) are fetched from their channel when staff open them, up to
    # this size, and kept in the database.
    attachment_max_mb: float = Field(default=10.0, gt=0, le=20)  # Telegram lets bots download up to 20 MB

    # The outbox (staff replies, rating questions, reminders, staff-group posts): a message that fails
    # for a passing reason (network, 5xx, flood control) is tried again, waiting 2 s, then twice as long
    # each time up to the longest wait, for this many hours after it was queued; then it fails.
    delivery_retry_hours: float = Field(default=24.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=600.0, gt=0)

    reminder_send_window: str = "09:00-19:00"
    # Reminder campaigns as data (default: the package's "pending mandatory courses" campaign), and
    # WhatsApp's sending rate shared by all reminder senders (Telegram's is fixed at 30/s).
    reminder_campaigns_file: Path | None = None
    reminder_whatsapp_rate: float = Field(default=80.0, gt=0, examples=[80])
    # Reminder messages one person gets a day (local day, TIMEZONE), across every campaign: what is due
    # for them at once goes in one message listing their pending courses; beyond the cap, it waits a day.
    reminder_daily_cap: int = Field(default=1, ge=1, examples=[1])

    # The staff web console: the key that signs session cookies (set it, or sessions end on restart
    # and differ between workers), and how long a login lasts.
    staff_session_secret: str | None = None
    staff_session_hours: int = Field(default=8, ge=1, examples=[8])
    # Whether the console's cookie is `Secure` (sent over https only) and HSTS is sent; unset: when
    # PUBLIC_BASE_URL is https. Set it to true behind an https proxy that has no PUBLIC_BASE_URL.
    staff_cookie_secure: bool | None = None

    # iGOT reports uploaded in the console: the largest file accepted (MB), and the folder an upload is
    # written to while it is imported, then deleted (default: the system's temporary folder).
    import_max_upload_mb: int = Field(default=200, ge=1, examples=[200])
    import_upload_dir: Path | None = Field(default=None, examples=["/srv/helpdesk/uploads"])

    # `/metrics` answers only requests carrying `Authorization: Bearer <this token>`; unset: it is off.
    metrics_token: str | None = None

    log_level: str = Field(default="INFO", pattern="(?i)^(debug|info|warning|error|critical)$", examples=["INFO"])
    log_format: str = Field(default="text", pattern="^(text|json)$", examples=["text", "json"])

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        time_zone(value)
        return value

    @field_validator("reminder_send_window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value

    @field_validator("import_upload_dir")
    @classmethod
    def _folder(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"'{value}' is not an existing folder; create it or leave the setting unset")
        return value

    @field_validator(
        "ticket_sla_hours_by_category", "twilio_reply_waiting_templates", "twilio_reply_templates", mode="before"
    )
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        """The environment gives a string: JSON; here rather than in pydantic-settings, whose error names no example."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f"{value!r} is not JSON; write an object") from None


def describe(error: ValidationError) -> str:
    """One line per invalid setting: the environment variable, the value, and what a valid one looks like."""
    lines = []
    for problem in error.errors():
        field, *inside = problem["loc"]  # inside: the key of a JSON object's bad entry
        variable = str(field).upper() + "".join(f"[{key!r}]" for key in inside)
        if problem["type"] == "value_error":  # our own checks, whose message says what to write
            message = str(problem["ctx"]["error"])
        else:
            message = f"{problem['input']!r} is not valid ({problem['msg'][0].lower()}{problem['msg'][1:]})"
        info = Settings.model_fields.get(str(field))
        if info is not None and info.examples:
            message += "; for example " + " or ".join(str(example) for example in info.examples)
        lines.append(f"{variable}: {message}")
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once; SettingsError when any of them is invalid."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe(error)) from None
