"""The webhook benchmark's ceiling: the same stack answering every post with a constant TwiML."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def constant(request) -> Response:
    """Read the form as the real endpoint must, and say nothing."""
    await request.form()
    return Response(EMPTY_TWIML, media_type="application/xml")


async def healthz(request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/twilio/whatsapp", constant, methods=["POST"]), Route("/healthz", healthz)])
