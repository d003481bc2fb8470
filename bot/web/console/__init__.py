"""The staff console: one module per page, on a shared base template and navigation (see app.py)."""
