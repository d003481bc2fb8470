"""Settings as an operator writes them: checked when read, every mistake named with its variable."""

from __future__ import annotations

import pytest

from bot.config import Settings, SettingsError, get_settings


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """A clean slate: no settings from the machine, no `.env` but the one a test writes."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def error_for(environment, **variables: str) -> str:
    for name, value in variables.items():
        environment.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        get_settings()
    return str(caught.value)


def test_defaults_are_valid(environment):
    settings = get_settings()
    assert settings.timezone == "Asia/Kolkata" and settings.reminder_send_window == "09:00-19:00"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "TIMEZONE",
            "Mars/Olympus",
            "TIMEZONE: 'Mars/Olympus' is not a time zone; use an IANA name such as Asia/Kolkata",
        ),
        ("TIMEZONE", "asia/kolkata", "TIMEZONE: 'asia/kolkata' is not a time zone; use an IANA name such as"),
        ("TIMEZONE", "../../etc/passwd", "TIMEZONE: '../../etc/passwd' is not a time zone"),
        (
            "REMINDER_SEND_WINDOW",
            "9-7",
            "REMINDER_SEND_WINDOW: '9-7' is not a window of hours; write HH:MM-HH:MM such as",
        ),
        ("REMINDER_SEND_WINDOW", "09:00-25:00", "REMINDER_SEND_WINDOW: '09:00-25:00' is not a window of hours"),
        ("REMINDER_SEND_WINDOW", "9:00-19:00", "REMINDER_SEND_WINDOW: '9:00-19:00' is not a window of hours"),
        ("REMINDER_SEND_WINDOW", "19:00-09:00", "REMINDER_SEND_WINDOW: '19:00-09:00': the window must end after it"),
        ("TELEGRAM_STAFF_CHAT_ID", "staff", "TELEGRAM_STAFF_CHAT_ID: 'staff' is not valid (input should be a valid"),
        ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE: 'fr' is not valid"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: 'loud' is not valid"),
        ("TICKET_SLA_HOURS", "0", "TICKET_SLA_HOURS: '0' is not valid (input should be greater than or equal to 1)"),
        ("REMINDER_WHATSAPP_RATE", "fast", "REMINDER_WHATSAPP_RATE: 'fast' is not valid"),
        (
            "TICKET_SLA_HOURS_BY_CATEGORY",
            "certificate=48",
            "TICKET_SLA_HOURS_BY_CATEGORY: 'certificate=48' is not JSON",
        ),
        ("TICKET_SLA_HOURS_BY_CATEGORY", '{"certificate": "two days"}', "TICKET_SLA_HOURS_BY_CATEGORY['certificate']:"),
        ("TWILIO_REPLY_WAITING_TEMPLATES", '["HX1"]', "TWILIO_REPLY_WAITING_TEMPLATES: ['HX1'] is not valid"),
        ("IMPORT_MAX_UPLOAD_MB", "0", "IMPORT_MAX_UPLOAD_MB: '0' is not valid (input should be greater than or equal"),
        (
            "IMPORT_UPLOAD_DIR",
            "/no/such/folder",
            "IMPORT_UPLOAD_DIR: '/no/such/folder' is not an existing folder; create it or leave the setting unset",
        ),
    ],
)
def test_a_bad_value_is_named_with_what_a_good_one_looks_like(environment, variable, value, message):
    error = error_for(environment, **{variable: value})
    assert error.startswith(message)
    assert "such as" in error or "for example" in error


def test_every_bad_setting_gets_its_own_line(environment):
    error = error_for(environment, TIMEZONE="Mars/Olympus", REMINDER_SEND_WINDOW="9-7")
    assert [line.split(":")[0] for line in error.splitlines()] == ["TIMEZONE", "REMINDER_SEND_WINDOW"]


@pytest.mark.parametrize("window", ["00:00-24:00", "09:00-19:00", "09:00 - 19:00", "23:59-24:00"])
def test_windows_of_hours_that_are_fine(environment, window):
    environment.setenv("REMINDER_SEND_WINDOW", window)
    assert get_settings().reminder_send_window == window


def test_empty_values_count_as_unset_in_the_environment_and_in_dotenv(environment, tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_STAFF_CHAT_ID=\nTIMEZONE=\nREMINDER_WHATSAPP_RATE=\n", encoding="utf-8")
    environment.setenv("TICKET_SLA_HOURS", "")
    environment.setenv("TWILIO_REPLY_WAITING_TEMPLATES", "")
    settings = get_settings()
    assert settings.telegram_staff_chat_id is None and settings.timezone == "Asia/Kolkata"
    assert settings.reminder_whatsapp_rate == 80.0 and settings.ticket_sla_hours == 24
    assert settings.twilio_reply_waiting_templates == {}


def test_dotenv_values_are_checked_too(environment, tmp_path):
    (tmp_path / ".env").write_text("TIMEZONE=Mars/Olympus\n", encoding="utf-8")
    assert error_for(environment).startswith("TIMEZONE: 'Mars/Olympus' is not a time zone")


def test_json_settings_from_the_environment(environment):
    environment.setenv("TICKET_SLA_HOURS_BY_CATEGORY", '{"certificate": 48}')
    environment.setenv("TWILIO_REPLY_WAITING_TEMPLATES", '{"en": "HX1", "hi": "HX2"}')
    settings = get_settings()
    assert settings.ticket_sla_hours_by_category == {"certificate": 48}
    assert settings.twilio_reply_waiting_templates == {"en": "HX1", "hi": "HX2"}


def test_settings_built_in_code_are_checked_alike():
    with pytest.raises(ValueError, match="is not a time zone"):
        Settings(_env_file=None, timezone="Mars/Olympus")
    assert Settings(_env_file=None, reminder_send_window="00:00-24:00").reminder_send_window == "00:00-24:00"
