"""Fetching a file a user sent from their channel, for staff: Telegram by file id (`getFile`, then the
file download URL, both under the Bot API base URL), Twilio by the media URL with the account's
credentials. At most `limit` bytes are read; the caller checks what the bytes are.

Nothing here is ever handed to a browser: the Telegram URLs carry the bot token and Twilio's need the
account's credentials, which is why the console fetches and serves the bytes itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx

from bot.config import Settings
from bot.providers.telegram import api_urls

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
TELEGRAM_API = "https://api.telegram.org/bot"
TWILIO_API = "https://api.twilio.com"


class MediaError(Exception):
    """The file could not be fetched; the message says why, for staff."""


class TooLarge(MediaError):
    """The file is bigger than the console takes."""


async def fetch(settings: Settings, channel: str, ref: str, *, limit: int) -> bytes:
    """The file's bytes from the user's channel."""
    if channel == "telegram":
        return await fetch_telegram(settings, ref, limit=limit)
    if channel == "whatsapp":
        return await fetch_twilio(settings, ref, limit=limit)
    raise MediaError(f"files sent on {channel} cannot be fetched")


async def fetch_telegram(settings: Settings, file_id: str, *, limit: int) -> bytes:
    if not settings.telegram_bot_token:
        raise MediaError("TELEGRAM_BOT_TOKEN is not set: Telegram files cannot be fetched")
    base_url, file_url = api_urls(settings.telegram_api_base_url or TELEGRAM_API)
    token = settings.telegram_bot_token
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        try:
            answer = (await client.get(f"{base_url}{token}/getFile", params={"file_id": file_id})).json()
        except (httpx.HTTPError, ValueError) as error:
            raise MediaError(f"Telegram did not answer getFile: {type(error).__name__}") from error
        if not answer.get("ok"):
            raise MediaError(f"Telegram refused the file: {answer.get('description', 'no reason given')}")
        found = answer.get("result") or {}
        if int(found.get("file_size") or 0) > limit:
            raise TooLarge(f"the file has {found['file_size']} bytes, more than the {limit} the console takes")
        if not found.get("file_path"):
            raise MediaError("Telegram gave no file path (files over 20 MB cannot be downloaded by bots)")
        return await _download(client, f"{file_url}{token}/{found['file_path']}", limit, "Telegram")


async def fetch_twilio(settings: Settings, url: str, *, limit: int) -> bytes:
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise MediaError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set: WhatsApp media cannot be fetched")
    if not url.startswith(f"{TWILIO_API}/"):
        # Never send the account's credentials anywhere but Twilio.
        raise MediaError("the media URL is not Twilio's")
    auth = httpx.BasicAuth(settings.twilio_account_sid, settings.twilio_auth_token)
    # Twilio answers with a redirect to its storage; httpx drops the credentials for another host.
    async with httpx.AsyncClient(timeout=TIMEOUT, auth=auth, follow_redirects=True) as client:
        return await _download(client, _rebased(url, settings.twilio_api_base_url), limit, "Twilio")


def _rebased(url: str, base_url: str | None) -> str:
    """The URL on `TWILIO_API_BASE_URL` (a test or relay server) when one is set."""
    if not base_url:
        return url
    base, parts = urlsplit(base_url.rstrip("/")), urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))


async def _download(client: httpx.AsyncClient, url: str, limit: int, source: str) -> bytes:
    """The body, read as it arrives and abandoned past `limit` bytes."""
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise MediaError(f"{source} answered HTTP {response.status_code} for the file")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise TooLarge(f"the file has {declared} bytes, more than the {limit} the console takes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise TooLarge(f"the file is bigger than the {limit} bytes the console takes")
            return bytes(body)
    except httpx.HTTPError as error:
        raise MediaError(f"{source} could not be reached for the file: {type(error).__name__}") from error
