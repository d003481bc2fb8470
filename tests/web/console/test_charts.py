"""The completion bars and the figures beside them: what a glance at them must not get wrong."""

from __future__ import annotations

import pytest

from bot.records.completion import CompletionRow
from bot.web.console.charts import WIDTH, bar
from bot.web.console.exports import file_name, spreadsheet_safe
from bot.web.console.rendering import number, percent


def test_a_bar_splits_into_completed_overdue_and_open_in_proportion():
    shown = bar(CompletionRow("Raipur", employees=3, mandatory_total=8, mandatory_completed=4, overdue=2))
    assert [(segment.kind, segment.x, segment.width) for segment in shown.segments] == [
        ("done", 0, 500), ("overdue", 500, 250), ("open", 750, 250)]  # fmt: skip
    assert shown.description == "50% completed: 4 of 8 mandatory enrolments; 2 overdue"


@pytest.mark.parametrize(
    ("total", "completed", "overdue", "kinds"),
    [(0, 0, 0, []), (5, 5, 0, ["done"]), (5, 0, 5, ["overdue"]), (3, 0, 0, ["open"])],
)
def test_empty_parts_draw_nothing_and_full_ones_fill_the_bar(total, completed, overdue, kinds):
    shown = bar(CompletionRow(None, 1, total, completed, overdue))
    assert [segment.kind for segment in shown.segments] == kinds
    assert sum(segment.width for segment in shown.segments) == (WIDTH if total else 0)


@pytest.mark.parametrize(
    ("rate", "text"), [(0, "0%"), (0.5, "50%"), (0.625, "62.5%"), (0.99996, "99.9%"), (1, "100%"), (1 / 3, "33.3%")]
)
def test_a_rate_reads_100_percent_only_when_everyone_is_done(rate, text):
    assert percent(rate) == text


def test_counts_are_written_as_india_writes_them():
    assert [number(count) for count in (7, 1234, 1234567)] == ["7", "1,234", "12,34,567"]


def test_cells_a_spreadsheet_would_run_become_text_and_names_stay_readable():
    assert [spreadsheet_safe(cell) for cell in ("=1+1", "+91******0001", "-2", "@SUM(A1)", "Asha", 5, None)] == [
        "'=1+1", "'+91******0001", "'-2", "'@SUM(A1)", "Asha", 5, None]  # fmt: skip
    assert file_name("pending", "course", "POSH Act: 2026/27") == "pending-course-posh-act-2026-27.csv"
