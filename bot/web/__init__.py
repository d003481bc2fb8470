"""The web server: health check and the staff console (channel webhooks and metrics join here)."""
