"""Reading report cells: the messy forms real iGOT exports come in."""

from __future__ import annotations

from datetime import date

import pytest

from bot.phones import PhoneError, mask_email, mask_phone, to_e164
from bot.records.report import RowError, header_map, parse_date, parse_flag, parse_progress, parse_status


@pytest.mark.parametrize(
    "raw", ["9876543210", "98765 43210", "+91 98765-43210", "919876543210", "09876543210", "+91-98765 43210 "]
)
def test_indian_phones_in_any_form_become_e164(raw):
    assert to_e164(raw) == "+919876543210"


@pytest.mark.parametrize("raw", ["12345", "5876543210", "+91 12345 67890", "98765432101", "phone", ""])
def test_unusable_phones_are_refused(raw):
    with pytest.raises(PhoneError):
        to_e164(raw)


def test_masking_keeps_what_a_person_recognises():
    assert mask_phone("+919876543210") == "+91******3210"
    assert mask_email("sunita.sahu@cg.gov.in") == "s***@cg.gov.in"


@pytest.mark.parametrize(
    "raw", ["2026-11-24", "24-11-2026", "24/11/2026", "2026-11-24 10:30:00", "2026-11-24T10:30:00"]
)
def test_three_date_formats(raw):
    assert parse_date(raw, "Completed_On") == date(2026, 11, 24)


@pytest.mark.parametrize("raw", ["31-02-2026", "24.11.2026", "yesterday", "11/24/2026"])
def test_bad_dates_name_the_column(raw):
    with pytest.raises(RowError, match=f"Completed_On: '{raw}' is not a date"):
        parse_date(raw, "Completed_On")


@pytest.mark.parametrize(
    ("raw", "status"),
    [("not-started", "not-started"), ("Not Started", "not-started"), ("0", "not-started"),
     ("In Progress", "in-progress"), ("1", "in-progress"), ("COMPLETED", "completed"), ("2", "completed")],
)  # fmt: skip
def test_status_words_and_codes(raw, status):
    assert parse_status(raw) == status


@pytest.mark.parametrize("raw", ["done", "3", "", None])
def test_unknown_status_is_refused(raw):
    with pytest.raises(RowError, match="Status"):
        parse_status(raw)


def test_flags_and_progress():
    assert parse_flag("Yes", "X") and not parse_flag("No", "X") and not parse_flag(None, "X")
    with pytest.raises(RowError, match="Certificate_Generated: 'maybe' is not Yes or No"):
        parse_flag("maybe", "Certificate_Generated")
    assert parse_progress("45.6%", "in-progress") == 46
    assert parse_progress(None, "completed") == 100
    with pytest.raises(RowError, match="outside 0-100"):
        parse_progress("140", "in-progress")


def test_header_matching_ignores_case_spacing_and_bom():
    columns = header_map(["\ufeffFull_Name", " phone_number ", "CONTENT_NAME", "Status", "Unknown_Column"])
    assert columns == {"Full_Name": 0, "Phone_Number": 1, "Content_Name": 2, "Status": 3}
