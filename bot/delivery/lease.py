"""Who holds a message being sent: host, process id and a token, so a dead holder can be recognised."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    """A sender's identity, stored in `outbox_message.lease_owner` as `host:pid:token`."""

    host: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(host=parts[0], pid=int(parts[1]), token=parts[2])

    def provably_dead(self) -> bool:
        """True only when the holder ran on this host and its process is gone (its lease is void)."""
        if self.host != socket.gethostname():
            return False  # another machine: only its lease's expiry tells
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, under another user
        return _zombie(self.pid)


def _zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet: dead, though its pid still answers."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def this_process() -> Owner:
    """A new identity for a sender in this process (a token of its own, so two senders never share one)."""
    return Owner(host=socket.gethostname(), pid=os.getpid(), token=uuid.uuid4().hex[:12])
