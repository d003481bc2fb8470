"""Benchmarks (`helpdesk bench ...`): figures printed beside the ceiling the stack itself sets."""
