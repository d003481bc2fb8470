"""A local stand-in for Telegram's Bot API: the real python-telegram-bot talks to it over HTTP.

A Starlette app served by uvicorn in a background thread on 127.0.0.1 and a free port. It answers
`/bot<token>/<method>` like the Bot API (`{"ok": true, "result": ...}`), records every request with
its parameters decoded, and can be told to fail: a 429 with `retry_after`, a 5xx, a 403 for a user who
blocked the bot, a 400 "chat not found", an answer that hangs; and the whole server can go down
(connections refused) and come back on the same port. Nothing here reaches the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT_ID = 424242
BOT_USERNAME = "igot_helpdesk_test_bot"
CANNED = {"ok": True, "result": True}


@dataclass
class Call:
    """One request the bot made: the method and its parameters (JSON values decoded)."""

    method: str
    params: dict[str, Any]
    result: Any = None  # what the fake answered, when it succeeded

    @property
    def message_id(self) -> int | None:
        return self.result.get("message_id") if isinstance(self.result, dict) else None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return self.params.get("text", "")

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.params.get("reply_markup")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row flattened."""
        markup = self.reply_markup or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None  # only requests to this chat fail


@dataclass
class Hang:
    seconds: float
    times: int = 1


@dataclass
class FakeBotApi:
    """The server's state, shared between its thread and the tests."""

    token: str
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)  # served by getUpdates
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)  # users who blocked the bot: 403
    gone: set[int] = field(default_factory=set)  # chats that do not exist: 400
    hangs: dict[str, list[Hang]] = field(default_factory=dict)
    next_message_id: int = 100
    files: dict[str, bytes] = field(default_factory=dict)  # by file id: served by getFile and /file/bot…
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ServerThread | None = None  # set by the thread serving it: down() and up()

    # What tests use -----------------------------------------------------------------------

    @property
    def api_base_url(self) -> str:
        """The value for TELEGRAM_API_BASE_URL: the token is appended by the library."""
        return f"{self.url}/bot"

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.updates.clear()
            self.failures.clear()
            self.blocked.clear()
            self.gone.clear()
            self.hangs.clear()
            self.files.clear()

    def add_file(self, file_id: str, data: bytes) -> None:
        """A file a user sent, for getFile and the file download URL."""
        with self.lock:
            self.files[file_id] = data

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) fail as Telegram would."""
        with self.lock:
            self.failures.setdefault(method, []).append(Failure(status, description, retry_after, times, chat_id))

    def hang(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer only after `seconds` (a client's timeout comes first)."""
        with self.lock:
            self.hangs.setdefault(method, []).append(Hang(seconds, times))

    def down(self) -> None:
        """Stop serving: connections are refused until `up`."""
        assert self.server is not None
        self.server.stop()

    def up(self) -> None:
        """Serve again on the same port."""
        assert self.server is not None
        self.server.start()

    @property
    def serving(self) -> bool:
        return self.server is not None and self.server.thread.is_alive()

    def requests(self, method: str | None = None, *, chat_id: int | None = None) -> list[Call]:
        with self.lock:
            return [
                call
                for call in self.calls
                if (method is None or call.method == method) and (chat_id is None or call.chat_id == chat_id)
            ]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return self.requests("sendMessage", chat_id=chat_id)

    def wait_for(self, method: str, *, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `count` calls of `method` arrived (for code running in the background)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} {method} call(s), got {len(self.requests(method))}")

    # The server ---------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download),
            ]
        )

    async def _download(self, request: Request) -> Response:
        """A file's bytes at `file/bot<token>/<file_path>`, as Telegram serves them."""
        with self.lock:
            self.calls.append(Call("download", {"path": request.path_params["path"]}))
            data = self.files.get(request.path_params["path"].removeprefix("files/"))
        if request.path_params["token"] != self.token or data is None:
            return Response(status_code=404)
        return Response(data, media_type="application/octet-stream")

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        params = await _params(request)
        with self.lock:
            hang = next((hang for hang in self.hangs.get(method, []) if hang.times > 0), None)
            if hang is not None:
                hang.times -= 1
        if hang is not None:
            await asyncio.sleep(hang.seconds)
        with self.lock:
            call = Call(method, params)
            self.calls.append(call)
            failure = self._failure(method, params)
            if failure is not None:
                return _error(failure.status, failure.description, failure.retry_after)
            chat_id = params.get("chat_id")
            if chat_id is not None and int(chat_id) in self.blocked:
                return _error(403, "Forbidden: bot was blocked by the user")
            if chat_id is not None and int(chat_id) in self.gone:
                return _error(400, "Bad Request: chat not found")
            result = call.result = self._result(method, params)
            if method == "getFile" and result is None:
                return _error(400, "Bad Request: invalid file_id")
        if method == "getUpdates" and not result:
            await asyncio.sleep(0.05)  # a long poll that found nothing, kept short
        return JSONResponse({"ok": True, "result": result})

    def _failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        for failure in self.failures.get(method, []):
            if failure.times > 0 and (failure.chat_id is None or failure.chat_id == int(params.get("chat_id", 0))):
                failure.times -= 1
                return failure
        return None

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID, "is_bot": True, "first_name": "iGOT Helpdesk", "username": BOT_USERNAME,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
            }  # fmt: skip
        if method in ("sendMessage", "sendPhoto"):
            self.next_message_id += 1
            return self._message(self.next_message_id, params)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._message(int(params["message_id"]), params)
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            return [update for update in self.updates if update["update_id"] >= offset][
                : int(params.get("limit") or 100)
            ]
        if method == "getFile":
            data = self.files.get(str(params.get("file_id")))
            if data is None:
                return None  # answered below as Telegram does: 400 "invalid file_id"
            file_id = str(params["file_id"])
            return {"file_id": file_id, "file_unique_id": file_id[:8], "file_size": len(data),
                    "file_path": f"files/{file_id}"}  # fmt: skip
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True  # answerCallbackQuery, setWebhook, deleteWebhook, deleteMessage, ...

    def _message(self, message_id: int, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": message_id,
            "date": 1764000000,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "iGOT Helpdesk", "username": BOT_USERNAME},
            "text": params.get("text", ""),
        }
        if "photo" in params:
            message["photo"] = [{"file_id": params["photo"], "file_unique_id": "p1", "width": 1280, "height": 853}]
            message["caption"] = params.get("caption", "")
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        return message


async def _params(request: Request) -> dict[str, Any]:
    """The request's parameters, whether sent as JSON, a form or a query string; JSON values decoded."""
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.json()
    else:
        raw = {**request.query_params, **(await request.form())}
    params = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):  # a plain string that starts like JSON stays a string
                value = json.loads(value)
        params[key] = value
    return params


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


class ServerThread:
    """uvicorn serving the fake in a daemon thread, on a port bound before it starts; it can be stopped
    (connections refused) and started again on the same port."""

    def __init__(self, api: FakeBotApi):
        self.api = api
        api.server = self
        self.port = 0
        self._bind()
        api.url = f"http://127.0.0.1:{self.port}"

    def _bind(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", self.port))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(self.api.app(), log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> None:
        if self.thread.ident is not None:  # served before: a fresh socket and server on the same port
            self._bind()
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake Bot API did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    def __enter__(self) -> FakeBotApi:
        self.start()
        return self.api

    def __exit__(self, *_exc: object) -> None:
        self.stop()
