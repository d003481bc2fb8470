"""The `helpdesk` command."""

from bot.cli import bench, conversation, knowledge, records, remind, server, tickets  # noqa: F401  (register the commands)
from bot.cli.app import app

__all__ = ["app"]
