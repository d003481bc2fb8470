"""Employees' own records: iGOT enrolment reports, who is writing, and their course status."""
