"""The "Lecture claim vs measured here" table that ends every notebook.

Every row is a claim registered before the measurement in ``lecture_lib/<concept>/claims.py``
(its wording, source, kind, direction and margin); the notebook supplies only the measurement and
the verdict follows from the one rule of ``lecture_lib.claims``: ``holds``, ``does not hold
here``, ``inconclusive (n = ...)``, ``not comparable at this scale``, or ``holds partly`` for a
compound claim. A row that does not simply hold carries one sentence of why::

    from lecture_lib.detection import REGISTRY_03B
    ledger = Ledger("Fast R-CNN", claims=REGISTRY_03B)
    ledger.judge("detection.fast_rcnn.accuracy", metrics.paired_bootstrap(ap_fast, ap_rcnn, item="images"),
                 why="one training seed of each detector is stored")
    ledger.show()

No criterion is chosen per row: there is no way to add a row that is not a registered claim.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from lecture_lib.claims import HOLDS, Claim, ClaimRegistry, Estimate, Fact
from lecture_lib.claims import judge as judge_claim

COLUMNS = ("claim", "source", "lecture / paper", "measured here", "criterion", "verdict", "note")
NO_REASON = "(no reason recorded)"


@dataclass(frozen=True)
class Row:
    claim: str
    source: str
    lecture: str
    measured: str
    criterion: str = ""
    verdict: str = ""
    why: str = ""
    note: str = ""
    claim_id: str = ""
    value: str = ""  # the measurement alone ("+0.090 [+0.082, +0.098]", "16"): what a compound shows

    def verdict_text(self) -> str:
        if not self.verdict:
            return "not judged"
        if self.verdict == HOLDS:
            return HOLDS
        return f"{self.verdict}: {self.why or NO_REASON}"

    def cells(self) -> tuple[str, ...]:
        return (
            self.claim,
            self.source,
            self.lecture,
            self.measured,
            self.criterion,
            self.verdict_text(),
            self.note,
        )


class Ledger:
    """Rows of (claim, source, lecture/paper value, measured here, criterion, verdict, note)."""

    def __init__(self, title: str, claims: ClaimRegistry | None = None):
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"title must be a non-empty str, got {title!r}")
        if claims is not None and not isinstance(claims, ClaimRegistry):
            raise TypeError(f"claims must be a ClaimRegistry, got {type(claims).__name__}")
        self.title = title
        self.claims = claims
        self.rows: list[Row] = []

    def judge(
        self,
        claim_id: str,
        measurement: Estimate | Fact | None = None,
        *,
        measured: str = "",
        why: str = "",
        note: str = "",
        at_scale: bool = False,
    ) -> Row:
        """Append the row of a registered claim, judged by the one rule of ``lecture_lib.claims``.

        Args:
            claim_id: the claim's id in this ledger's registry (``Ledger(title, claims=REGISTRY)``).
            measurement: an ``Estimate`` (effect and scale claims) or a ``Fact`` (fact claims);
                ``None`` for a compound claim, whose parts must already be rows of this ledger.
            measured: extra text after the estimate (the two methods' own values, the setting).
            why: one sentence of why, shown when the verdict is not ``holds``.
            note: setting details. at_scale: a scale claim measured at the paper's scale (full).
        """
        if self.claims is None:
            raise ValueError("this ledger has no claim registry: Ledger(title, claims=REGISTRY)")
        claim: Claim = self.claims[claim_id]
        if claim.kind == "compound":
            if measurement is not None:
                raise TypeError(
                    f"compound claim {claim_id} is judged from its parts' rows, not a measurement"
                )
            judged = {r.claim_id: r for r in self.rows}
            missing = [p for p in claim.parts if p not in judged]
            if missing:
                raise ValueError(f"compound claim {claim_id}: judge its parts {missing} first")
            verdict = judge_claim(claim, None, parts=[judged[p].verdict for p in claim.parts])
            value = ""
            text = "; ".join(  # each part's measurement and verdict word (its row says why)
                f"{p.rsplit('.', 1)[-1]}: {judged[p].value} {judged[p].verdict.split(' (', 1)[0]}"
                for p in claim.parts
            )
        else:
            verdict = judge_claim(claim, measurement, at_scale=at_scale)
            if isinstance(measurement, Fact):
                value = str(measurement.value)
                text = f"{value} (claimed {claim.expected})"
            else:
                assert isinstance(measurement, Estimate)  # judge_claim checked it
                value = measurement.text(signed=claim.kind == "effect")
                text = f"{value} (n = {measurement.n})"
        for name, given in (("measured", measured), ("why", why), ("note", note)):
            if not isinstance(given, str):
                raise TypeError(f"{name} must be a str, got {type(given).__name__} ({given!r})")
        row = Row(
            claim.wording,
            claim.source,
            claim.paper or "-",
            f"{text}; {measured}" if measured else text,
            claim.criterion,
            verdict,
            why,
            note,
            claim_id,
            value,
        )
        self.rows.append(row)
        return row

    def __len__(self) -> int:
        return len(self.rows)

    def verdicts(self) -> dict[str, str]:
        """``{claim: verdict}`` (``""`` for rows without a criterion)."""
        return {r.claim: r.verdict for r in self.rows}

    def to_markdown(self) -> str:
        def esc(s: str) -> str:
            return s.replace("|", "\\|").replace("\n", " ")

        lines = [
            f"**Lecture claim vs measured here — {self.title}**",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + "---|" * len(COLUMNS),
        ]
        lines += ["| " + " | ".join(esc(c) for c in row.cells()) + " |" for row in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row.cells())
            + "</tr>"
            for row in self.rows
        )
        return (
            f"<b>Lecture claim vs measured here — {html.escape(self.title)}</b>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def __str__(self) -> str:
        return self.to_markdown()

    def show(self) -> None:
        """Render the table (HTML in Jupyter, Markdown text elsewhere)."""
        try:
            from IPython.display import HTML, display

            display(HTML(self._repr_html_()))
        except ImportError:  # pragma: no cover - IPython is always there in notebooks
            print(self.to_markdown())
