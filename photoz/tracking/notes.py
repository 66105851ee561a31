"""Markdown for MLflow run descriptions (the tag mlflow.note.content, shown atop a run's page).

MLflow renders a description's pipe tables without cell padding: "-0.0007 ± 0.0011" runs into the
next column's "0.0 %". Each cell but a row's last therefore ends in a few no-break spaces, which
the renderer keeps (it trims ordinary spaces). A blank line closes every table, so that the text
after it is a paragraph of its own. The UI shows the first few lines of a description and folds the
rest under "Show more": put the table first.
"""

from __future__ import annotations

NOTE_TAG = "mlflow.note.content"  # the run tag MLflow shows as its description
PAD = "\u00a0" * 3  # no-break spaces after a cell: the gap between columns


def _cell(text: str) -> str:
    """A cell's text on one line, with the pipe that would end the cell escaped."""
    return " ".join(str(text).split()).replace("|", r"\|")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table that MLflow's description renders with gaps between columns."""

    def line(cells: list[str]) -> str:
        padded = [_cell(c) + PAD for c in cells[:-1]] + [_cell(c) for c in cells[-1:]]
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(headers), "|" + "---|" * len(headers), *(line(r) for r in rows)]) + "\n"
