"""Settings from the environment or `.env` (see `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "hi")


class Settings(BaseSettings):
    """Every knob of the deployment; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///helpdesk.db"
    content_dir: Path = Field(default=PROJECT_ROOT, description="folder holding faq/, intents/ and locales/")
    default_language: str = Field(default="hi", pattern="^(en|hi)$")
    timezone: str = "Asia/Kolkata"
    ticket_prefix: str = "HD-"
    # Hours the helpdesk promises to answer in, by FAQ topic or its area ("certificate"), else the default.
    ticket_sla_hours: int = Field(default=24, ge=1)
    ticket_sla_hours_by_category: dict[str, int] = Field(default_factory=dict)

    # What the bot adds to answers marked `state_contact` (a state's own helpdesk, nodal officers).
    state_helpdesk_en: str = ""
    state_helpdesk_hi: str = ""

    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str | None = None
    telegram_staff_chat_id: int | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str | None = None
    # Approved WhatsApp content templates ("an answer from the helpdesk is waiting"), by language:
    # outside the 24-hour window free text is not allowed, e.g. {"en": "HX...", "hi": "HX..."}.
    twilio_reply_waiting_templates: dict[str, str] = Field(default_factory=dict)
    public_base_url: str | None = None

    # The outbox (staff replies, rating questions, reminders, staff-group posts): a message that fails
    # for a passing reason (network, 5xx, flood control) is tried again, waiting 2 s, then twice as long
    # each time up to the longest wait, for this many hours after it was queued; then it fails.
    delivery_retry_hours: float = Field(default=24.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=600.0, gt=0)

    reminder_send_window: str = "09:00-19:00"
    # Reminder campaigns as data (default: the package's "pending mandatory courses" campaign), and
    # WhatsApp's sending rate shared by all reminder senders (Telegram's is fixed at 30/s).
    reminder_campaigns_file: Path | None = None
    reminder_whatsapp_rate: float = Field(default=80.0, gt=0)

    # The staff web console: the key that signs session cookies (set it, or sessions end on restart
    # and differ between workers), and how long a login lasts.
    staff_session_secret: str | None = None
    staff_session_hours: int = Field(default=8, ge=1)

    log_level: str = "INFO"
    log_format: str = Field(default="text", pattern="^(text|json)$")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
