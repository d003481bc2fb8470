"""Who may do what: roles and scopes, console sessions, the login throttle, and the staff audit trail."""
