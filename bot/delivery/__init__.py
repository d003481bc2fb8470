"""The outbox: every message the bot sends other than a direct answer, through one queue.

`outbox` keeps the queue (claim with a lease, finish fenced by the lease's owner), `worker` drains
it through a provider (`bot.providers`), `retry` says when a failed message is tried again and
`states` names what a message's state can be.
"""
