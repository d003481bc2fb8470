"""Completion as bars drawn on the server (SVG in the page: no script, nothing the CSP would block).

Each group gets one bar as wide as the screen: completed mandatory enrolments, then those overdue,
then the rest still open, in proportion. The page draws them with `<rect>`s in a 0..WIDTH box that
stretches to the width available; labels and numbers are HTML text beside the bar, so they wrap and
scale like the rest of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.records.completion import CompletionRow

WIDTH = 1000


@dataclass(frozen=True)
class Segment:
    kind: str  # done, overdue, open: the CSS class that colours it
    x: float
    width: float


@dataclass(frozen=True)
class Bar:
    row: CompletionRow
    segments: tuple[Segment, ...]

    @property
    def description(self) -> str:
        """What the bar shows, for screen readers."""
        row = self.row
        return (
            f"{row.completion_rate:.0%} completed: {row.mandatory_completed} of {row.mandatory_total} mandatory "
            f"enrolments; {row.overdue} overdue"
        )


def bar(row: CompletionRow) -> Bar:
    """The bar of one group (or of the total)."""
    total = row.mandatory_total
    parts = (("done", row.mandatory_completed), ("overdue", row.overdue),
             ("open", total - row.mandatory_completed - row.overdue))  # fmt: skip
    return Bar(row, segments(parts))


def segments(parts: tuple[tuple[str, int], ...]) -> tuple[Segment, ...]:
    """Counts side by side in proportion to their sum, across the whole width."""
    total = sum(count for _, count in parts)
    found, x = [], 0.0
    for kind, count in parts:
        if total and count > 0:
            width = WIDTH * count / total
            found.append(Segment(kind, round(x, 2), round(width, 2)))
            x += width
    return tuple(found)


@dataclass(frozen=True)
class Stacked:
    """Any other bar: its parts and what it shows in words (for screen readers)."""

    description: str
    segments: tuple[Segment, ...]
