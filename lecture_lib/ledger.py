"""The "Lecture claim vs measured here" table that ends every notebook.

Every measured cell is a value the notebook computed; the ledger only formats it::

    ledger = Ledger("CNN recap")
    ledger.add("LeNet learns digits", source="slides: Recap CNN", lecture="0.9% error (MNIST)",
               measured=f"{acc:.3f} test accuracy", note="scikit-learn digits, 8x8")
    ledger.show()
"""

from __future__ import annotations

import html
from dataclasses import dataclass

COLUMNS = ("claim", "source", "lecture / paper", "measured here", "note")


@dataclass(frozen=True)
class Row:
    claim: str
    source: str
    lecture: str
    measured: str
    note: str = ""

    def cells(self) -> tuple[str, str, str, str, str]:
        return (self.claim, self.source, self.lecture, self.measured, self.note)


class Ledger:
    """Rows of (claim, source, lecture/paper value, measured here, note), shown as one table."""

    def __init__(self, title: str):
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"title must be a non-empty str, got {title!r}")
        self.title = title
        self.rows: list[Row] = []

    def add(self, claim: str, *, source: str, lecture: str, measured: str, note: str = "") -> Row:
        """Append a row. ``measured`` must be text built from a computed value (an f-string)."""
        for name, value in (("claim", claim), ("source", source), ("lecture", lecture),
                            ("measured", measured), ("note", note)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__} ({value!r}); "
                                "format numbers with an f-string, e.g. f'{acc:.3f}'")
        if not claim.strip() or not measured.strip():
            raise ValueError("claim and measured must not be empty")
        row = Row(claim, source, lecture, measured, note)
        self.rows.append(row)
        return row

    def __len__(self) -> int:
        return len(self.rows)

    def to_markdown(self) -> str:
        def esc(s: str) -> str:
            return s.replace("|", "\\|").replace("\n", " ")

        lines = [f"**Lecture claim vs measured here — {self.title}**", "",
                 "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(esc(c) for c in row.cells()) + " |" for row in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row.cells()) + "</tr>"
            for row in self.rows)
        return (f"<b>Lecture claim vs measured here — {html.escape(self.title)}</b>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def __str__(self) -> str:
        return self.to_markdown()

    def show(self) -> None:
        """Render the table (HTML in Jupyter, Markdown text elsewhere)."""
        try:
            from IPython.display import HTML, display

            display(HTML(self._repr_html_()))
        except ImportError:  # pragma: no cover - IPython is always there in notebooks
            print(self.to_markdown())
