"""Escalation to helpdesk staff: tickets, staff actions, SLA and ratings."""
