"""A test hook, loaded only by the test that puts this folder on PYTHONPATH: a `helpdesk serve` worker
killed with SIGKILL after it committed a WhatsApp message and before its response went out.

Armed while the file named by HELPDESK_TEST_CRASH_FLAG exists; the first response that finds it deletes
it and kills its worker, so Twilio's retry (to the same or the other worker) goes through.
"""

from __future__ import annotations

import os
import signal
from typing import Any

FLAG = os.environ.get("HELPDESK_TEST_CRASH_FLAG")

if FLAG:
    import bot.web.server as server

    build = server.app_from_environment

    def crashing_app() -> Any:
        app = build()

        async def wrapper(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] != "/twilio/whatsapp":
                await app(scope, receive, send)
                return

            async def die_before_answering(message: dict) -> None:
                if message["type"] == "http.response.start" and FLAG and os.path.exists(FLAG):
                    os.remove(FLAG)
                    os.kill(os.getpid(), signal.SIGKILL)
                await send(message)

            await app(scope, receive, die_before_answering)

        return wrapper

    server.app_from_environment = crashing_app
