"""Channels translate between a network's wire format and the engine's Incoming/Reply messages."""
