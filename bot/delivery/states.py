"""The states of an outgoing message, and the forward-only rule for providers' delivery reports.

queued → sending → sent → delivered → read. A WhatsApp message outside the 24-hour window is
`held` until the user writes; a message that will never go is `failed` (with the provider's reason);
a reminder the person opted out of before it went is `cancelled`. `sending` is internal: a sender
holds the message under a lease; staff see it as queued.
"""

from __future__ import annotations

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
READ = "read"
HELD = "held"
FAILED = "failed"
CANCELLED = "cancelled"

WAITING = (QUEUED, HELD)  # not with the provider yet, nothing in the way
UNFINISHED = (QUEUED, SENDING)  # a later message to the same user waits behind these
REACHED = (SENT, DELIVERED, READ)  # the provider took it: the user has it, or will without us
_PROGRESS = {SENT: 1, DELIVERED: 2, READ: 3}


def next_state(current: str, reported: str) -> str:
    """The state to keep when a provider reports `reported` for a message at `current`.

    Reports can arrive out of order (`delivered` after `read`): never backwards. A failure cannot
    undo a delivery, and nothing moves a failed message.
    """
    if current in (FAILED, CANCELLED):
        return current
    if reported == FAILED:
        return current if current in (DELIVERED, READ) else FAILED
    if reported not in _PROGRESS:
        return current
    if current not in _PROGRESS:  # queued, sending or held: the provider has it after all
        return reported
    return reported if _PROGRESS[reported] > _PROGRESS[current] else current


def replaceable_by(reported: str) -> list[str]:
    """The stored states that `reported` may overwrite (for one conditional UPDATE)."""
    known = [QUEUED, SENDING, HELD, SENT, DELIVERED, READ, FAILED, CANCELLED]
    return [state for state in known if state != reported and next_state(state, reported) == reported]


def as_shown(state: str) -> str:
    """The state as staff and the contract name it: queued, held, sent, delivered, read or failed."""
    if state == SENDING:
        return QUEUED
    if state == CANCELLED:
        return FAILED
    return state
