"""`python -m bot.cli`: the same as the `helpdesk` command."""

from bot.cli import app

app()
