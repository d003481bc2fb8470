"""Tests of the web server: health check and staff console."""
