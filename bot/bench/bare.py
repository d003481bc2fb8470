"""The webhook benchmark's references: the same stack doing nothing, and doing only the protocol's work.

`app` is the ceiling: every post answered with a constant TwiML. `protocol_app` does what no honest
WhatsApp handler can skip (size and signature checks, the form read into a message, a typical answer
rendered as TwiML) without the bot itself: what is left of the ceiling for understanding and the database.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.whatsapp.forms import Refused, verified_form
from bot.channels.whatsapp.inbound import WEBHOOK_PATH, incoming_from_form
from bot.channels.whatsapp.twiml import XML, twiml
from bot.config import get_settings
from bot.messages import Option, Reply

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
TYPICAL_ANSWER = Reply(
    "कोर्स पूरा होने के बाद प्रमाणपत्र 24 से 48 घंटे में बन जाता है। उसे 'मेरी सीख' में कोर्स खोलकर "
    "'प्रमाणपत्र देखें' से डाउनलोड करें। सभी मॉड्यूल और मूल्यांकन पूरे होने चाहिए।\n\nक्या इससे मदद मिली?",
    (Option("yes", "हाँ"), Option("no", "नहीं"), Option("intent:human", "किसी व्यक्ति से बात करें")),
)


async def constant(request: Request) -> Response:
    """Read the form as the real endpoint must, and say nothing."""
    await request.form()
    return Response(EMPTY_TWIML, media_type=XML)


async def protocol_only(request: Request) -> Response:
    """The real webhook's checks and rendering around a fixed answer, without the bot."""
    try:
        incoming_from_form(await verified_form(request, get_settings()))
    except Refused as refused:
        return PlainTextResponse(refused.reason, status_code=refused.status_code)
    return Response(twiml([TYPICAL_ANSWER]), media_type=XML)


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route(WEBHOOK_PATH, constant, methods=["POST"]), Route("/healthz", healthz)])
protocol_app = Starlette(routes=[Route(WEBHOOK_PATH, protocol_only, methods=["POST"]), Route("/healthz", healthz)])
