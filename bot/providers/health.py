"""Whether a provider can be reached: `ok` or `degraded` (with why), for `/healthz`."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

OK = "ok"
DEGRADED = "degraded"


class Health:
    """One provider's state as this process last saw it; changes are logged once each."""

    def __init__(self, name: str, *, ready: bool = True, reason: str = "starting"):
        self.name = name
        self.state = OK if ready else DEGRADED
        self.reason = "" if ready else reason

    @property
    def ok(self) -> bool:
        return self.state == OK

    def good(self) -> None:
        if self.state != OK:
            logger.info("%s is reachable again", self.name)
        self.state, self.reason = OK, ""

    def bad(self, reason: str) -> None:
        if self.state != DEGRADED or self.reason != reason:
            logger.warning("%s degraded: %s", self.name, reason)
        self.state, self.reason = DEGRADED, reason
