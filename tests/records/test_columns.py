"""The column-wise block reader says exactly what the one-row reader says, for any mix of cells."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.records.columns import BlockReader, RowBlock
from bot.records.report import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    EmployeeValues,
    EnrolmentValues,
    ReportRow,
    RowError,
    header_map,
    parse_row,
)

DATES = ["", "2026-11-24", "24/11/2026", "24-11-2026", "31-02-2026", "2026-11-24 10:30:00", "yesterday"]
CELLS = {
    "Full_Name": ["", "  ", "Asha  Devi", "सुनीता साहू", "x"],
    "Phone_Number": ["9876500001", "+91 98765-00002", "12345", "", "098765 00003", "+14155550100", "91987650000"],
    "Content_Name": ["", "POSH Act", " Yoga  Break "],
    "Status": ["Completed", "in progress", "2", "0", "done", "", "NOT STARTED"],
    "Content_Progress_Percentage": ["", "45.6%", "abc", "140", "100", "0", " 7 "],
    "Live_CBP_Plan_Mandate": ["Yes", "no", "", "maybe", "1"],
    "Certificate_Generated": ["Yes", "No", "", "perhaps"],
    "Batch_End_Date": DATES,
    "Enrolled_On": DATES,
    "Completed_On": DATES,
    "Email": ["", "Sunita@CG.gov.in "],
}
OTHER = ["", " Health ", "UP-1", "do_7"]
COLUMNS = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "Unknown_Column"]


@st.composite
def reports(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.permutations(COLUMNS))
    rows = []
    for _ in range(draw(st.integers(1, 30))):
        width = draw(st.sampled_from([len(header), len(header), len(header) - 3, 0]))
        rows.append([draw(st.sampled_from(CELLS.get(name, OTHER))) for name in header[:width]])
    return header, rows


@settings(max_examples=300, deadline=None)
@given(reports())
def test_the_block_reader_agrees_with_parse_row(report):
    header, rows = report
    columns = header_map(header)
    lines = list(range(2, len(rows) + 2))
    block, rejected = BlockReader(columns).read(lines, rows)
    expected_rows, expected_rejects = [], []
    for line, cells in zip(lines, rows, strict=True):
        try:
            expected_rows.append(parse_row(line, cells, columns))
        except RowError as error:
            if "".join(cells).strip():  # a blank line is no row at all
                expected_rejects.append((line, str(error)))
    assert [(reject.line, reject.reason) for reject in rejected] == expected_rejects
    assert [_as_row(block, i) for i in range(len(block))] == expected_rows


def _as_row(block: RowBlock, i: int) -> ReportRow:
    """Position i of the block in parse_row's shape."""
    day = lambda text: date.fromisoformat(text) if text else None  # noqa: E731
    content_id, name = block.content_id[i], block.course_name[i]
    return ReportRow(
        block.lines[i],
        EmployeeValues(block.name[i], block.phone[i], block.email[i], block.external_id[i], block.ministry[i],
                       block.department[i], block.organisation[i], block.designation[i], block.group[i],
                       block.district[i]),
        f"id:{content_id}" if content_id else f"name:{name.casefold()}",
        name,
        content_id,
        EnrolmentValues(block.status[i], block.progress[i], block.mandatory[i], block.batch_id[i],
                        day(block.batch_end_date[i]), day(block.enrolled_on[i]), day(block.completed_on[i]),
                        block.certificate_generated[i], block.certificate_id[i]),
    )  # fmt: skip
