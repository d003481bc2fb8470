"""A small local HTTP server playing Twilio's Messages REST API, for the real `twilio.rest.Client`.

It runs uvicorn on 127.0.0.1 and a free port in a background thread, records every request, answers
`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with a message resource shaped like Twilio's,
and answers errors in Twilio's JSON error format on demand (`fail_next`: 429, 5xx, permanent codes);
it can hang (`hang_next`) and go down and come back on the same port. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "The 'From' phone number is required.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
    63024: "Invalid message recipient",
}


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    form: dict[str, str]
    authorization: str | None


@dataclass(frozen=True)
class Failure:
    """A scripted error answer."""

    status: int
    code: int


@dataclass
class FakeTwilio:
    """Twilio's REST API for one account, on a local port."""

    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    sids: list[str] = field(default_factory=list)
    _failures: deque[Failure] = field(default_factory=deque)
    _hangs: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    media: dict[str, bytes] = field(default_factory=dict)  # by media SID: what users sent
    port: int = 0

    def __post_init__(self) -> None:
        routes = [
            Route("/2010-04-01/Accounts/{account}/Messages.json", self._create_message, methods=["POST"]),
            Route("/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", self._media),
            Route("/storage/{media}", self._stored),
        ]
        self.app = Starlette(routes=routes)
        self._bind()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _bind(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", self.port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> FakeTwilio:
        """Serve in a background thread (again on the same port after `stop`); returns once it accepts."""
        if self._thread.ident is not None:
            self._bind()
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Twilio server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        """Answer the next `times` message creations only after `seconds` (the client times out first)."""
        with self._lock:
            self._hangs.extend([seconds] * times)

    def fail_next(self, *, code: int, status: int = 400, times: int = 1) -> None:
        """Answer the next `times` message creations with Twilio error `code` (HTTP `status`)."""
        with self._lock:
            self._failures.extend([Failure(status, code)] * times)

    def add_media(self, message_sid: str, media_sid: str, data: bytes) -> str:
        """A file a user sent; its media URL as Twilio's webhook gives it."""
        with self._lock:
            self.media[media_sid] = data
        return f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"

    async def _media(self, request: Request) -> Response:
        """Twilio's media URL: with the account's credentials, a redirect to the file in its storage."""
        recorded = Recorded(request.method, request.url.path, {}, request.headers.get("authorization"))
        with self._lock:
            self.requests.append(recorded)
        if recorded.authorization != _basic(self.account_sid, self.auth_token):
            return _error(Failure(401, 20003), request.url.path)
        if request.path_params["media"] not in self.media:
            return _error(Failure(404, 20404), request.url.path)
        return RedirectResponse(f"{self.base_url}/storage/{request.path_params['media']}", status_code=307)

    async def _stored(self, request: Request) -> Response:
        """The file in Twilio's storage, behind a signed URL: no credentials needed."""
        recorded = Recorded(request.method, request.url.path, {}, request.headers.get("authorization"))
        with self._lock:
            self.requests.append(recorded)
        return Response(self.media[request.path_params["media"]], media_type="image/jpeg")

    @property
    def messages(self) -> list[dict[str, str]]:
        """The forms of the message creations received, oldest first."""
        return [recorded.form for recorded in self.requests if recorded.path.endswith("/Messages.json")]

    async def _create_message(self, request: Request) -> JSONResponse:
        form = {key: str(value) for key, value in (await request.form()).items()}
        recorded = Recorded(request.method, request.url.path, form, request.headers.get("authorization"))
        with self._lock:
            self.requests.append(recorded)
            failure = self._failures.popleft() if self._failures else None
            hang = self._hangs.popleft() if self._hangs else None
        if hang:
            await asyncio.sleep(hang)
        uri = request.url.path
        if recorded.authorization != _basic(self.account_sid, self.auth_token):
            return _error(Failure(401, 20003), uri)
        if request.path_params["account"] != self.account_sid:
            return _error(Failure(404, 20404), uri)
        if failure is not None:
            return _error(failure, uri, to=form.get("To", ""))
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(Failure(400, 21603), uri)
        if not (form.get("Body") or form.get("ContentSid") or form.get("MediaUrl")):
            return _error(Failure(400, 21602), uri)
        if len(form.get("Body", "")) > 1600:
            return _error(Failure(400, 21617), uri)
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self.sids.append(sid)
        return JSONResponse(self._resource(sid, form), status_code=201)

    def _resource(self, sid: str, form: dict[str, str]) -> dict:
        """A message resource as Twilio returns it on creation."""
        now = format_datetime(datetime.now(UTC), usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form.get("To"),
            "uri": f"{uri}.json",
        }


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _error(failure: Failure, uri: str, *, to: str = "") -> JSONResponse:
    """Twilio's (legacy) error body: code, message, more_info, status."""
    message = ERROR_MESSAGES.get(failure.code, "Error").format(to=to.removeprefix("whatsapp:"))
    body = {
        "code": failure.code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{failure.code}",
        "status": failure.status,
    }
    return JSONResponse(body, status_code=failure.status)
