"""The "Lecture claim vs measured here" table that ends every notebook.

Every row states a claim, what the lecture or paper says, what this notebook measured, the
*criterion* the measurement is judged by, and a **verdict computed** from the measured value and
that criterion: ``holds``, ``holds partly`` or ``does not hold here``. A row that does not fully
hold carries one sentence of why (scale, data, budget)::

    ledger = Ledger("Detection")
    ledger.add("Fast R-CNN tests much faster than R-CNN", source="slides: Fast R-CNN",
               lecture="146x (VGG16, GPU)", measured=f"{speedup:.0f}x", value=speedup,
               criterion=at_least(50, partly=10, unit="x"),
               why="a 3-layer CNN on 128 px scenes: the shared backbone is a smaller share of R-CNN's cost")
    ledger.show()

The measured text and the value must come from computed variables, never be typed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lecture_lib.claims import Claim, ClaimRegistry, Estimate, Fact
from lecture_lib.claims import judge as judge_claim

HOLDS, PARTLY, FAILS = "holds", "holds partly", "does not hold here"
VERDICTS = (HOLDS, PARTLY, FAILS)
COLUMNS = ("claim", "source", "lecture / paper", "measured here", "criterion", "verdict", "note")
NO_REASON = "(no reason recorded)"


@dataclass(frozen=True)
class Criterion:
    """How a measured value is judged: ``text`` says it ("≥ 50x"), ``judge(value)`` returns a verdict."""

    text: str
    judge: Callable[[Any], str]

    def __call__(self, value: Any) -> str:
        verdict = self.judge(value)
        if verdict not in VERDICTS:
            raise ValueError(f"a criterion must return one of {VERDICTS}, got {verdict!r}")
        return verdict


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise TypeError(f"{what} needs a number, got {type(value).__name__} ({value!r})")
    x = float(value)
    if math.isnan(x):
        raise ValueError(f"{what} got NaN: the measurement failed")
    return x


def _fmt(x: float) -> str:
    return f"{x:g}"


def at_least(threshold: float, *, partly: float | None = None, unit: str = "") -> Criterion:
    """Holds if ``value >= threshold``; holds partly if ``value >= partly`` (when given)."""
    if partly is not None and partly > threshold:
        raise ValueError(f"partly ({partly}) must be <= threshold ({threshold}) for at_least")
    text = f"≥ {_fmt(threshold)}{unit}" + (f" (partly ≥ {_fmt(partly)}{unit})" if partly is not None else "")

    def judge(value: Any) -> str:
        x = _number(value, "at_least")
        if x >= threshold:
            return HOLDS
        return PARTLY if partly is not None and x >= partly else FAILS

    return Criterion(text, judge)


def at_most(threshold: float, *, partly: float | None = None, unit: str = "") -> Criterion:
    """Holds if ``value <= threshold``; holds partly if ``value <= partly`` (when given)."""
    if partly is not None and partly < threshold:
        raise ValueError(f"partly ({partly}) must be >= threshold ({threshold}) for at_most")
    text = f"≤ {_fmt(threshold)}{unit}" + (f" (partly ≤ {_fmt(partly)}{unit})" if partly is not None else "")

    def judge(value: Any) -> str:
        x = _number(value, "at_most")
        if x <= threshold:
            return HOLDS
        return PARTLY if partly is not None and x <= partly else FAILS

    return Criterion(text, judge)


def within(target: float, tolerance: float, *, partly: float | None = None, unit: str = "") -> Criterion:
    """Holds if ``|value - target| <= tolerance``; partly if within ``partly`` (a wider tolerance)."""
    if tolerance < 0 or (partly is not None and partly < tolerance):
        raise ValueError(f"need 0 <= tolerance <= partly, got tolerance={tolerance}, partly={partly}")
    text = f"{_fmt(target)} ± {_fmt(tolerance)}{unit}" + (
        f" (partly ± {_fmt(partly)})" if partly is not None else ""
    )

    def judge(value: Any) -> str:
        gap = abs(_number(value, "within") - target)
        if gap <= tolerance:
            return HOLDS
        return PARTLY if partly is not None and gap <= partly else FAILS

    return Criterion(text, judge)


def is_true(text: str) -> Criterion:
    """Holds if the value (a bool computed by the notebook, e.g. ``a > b + spread``) is true."""

    def judge(value: Any) -> str:
        # NumPy 1's numpy.bool_ and NumPy 2's numpy.bool (its __name__ is "bool")
        if not isinstance(value, bool) and not (
            type(value).__module__ == "numpy" and type(value).__name__ in ("bool_", "bool")
        ):
            raise TypeError(f"is_true needs a bool, got {type(value).__name__} ({value!r})")
        return HOLDS if bool(value) else FAILS

    return Criterion(text, judge)


def all_of(*criteria: Criterion) -> Criterion:
    """For a sequence of values, one per criterion: holds if all hold, partly if at least one does."""
    if not criteria:
        raise ValueError("all_of needs at least one criterion")
    text = " and ".join(c.text for c in criteria)

    def judge(values: Any) -> str:
        if not isinstance(values, Sequence) or len(values) != len(criteria):
            raise ValueError(f"all_of needs {len(criteria)} values (one per criterion), got {values!r}")
        verdicts = [c(v) for c, v in zip(criteria, values)]
        if all(v == HOLDS for v in verdicts):
            return HOLDS
        return PARTLY if any(v != FAILS for v in verdicts) else FAILS

    return Criterion(text, judge)


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

    def add(
        self,
        claim: str,
        *,
        source: str,
        lecture: str,
        measured: str,
        criterion: Criterion | None = None,
        value: Any = None,
        why: str = "",
        note: str = "",
    ) -> Row:
        """Append a row; its verdict is ``criterion(value)``.

        Args:
            claim: what the slide or paper says, in a few words.
            source: where it is said ("slides: Faster R-CNN", "Ren et al. 2015, Table 3").
            lecture: the lecture's or paper's figure, with its protocol.
            measured: text built from the computed value(s) (an f-string).
            criterion: how the value is judged (``at_least``, ``at_most``, ``within``, ``is_true``,
                ``all_of``). ``None`` leaves the row "not judged" (only for context rows).
            value: the computed value the criterion judges.
            why: one sentence of why, shown when the verdict is not ``holds``.
            note: setting details (data, scale).

        Returns:
            The row added.
        """
        for name, text in (
            ("claim", claim),
            ("source", source),
            ("lecture", lecture),
            ("measured", measured),
            ("why", why),
            ("note", note),
        ):
            if not isinstance(text, str):
                raise TypeError(
                    f"{name} must be a str, got {type(text).__name__} ({text!r}); "
                    "format numbers with an f-string, e.g. f'{acc:.3f}'"
                )
        if not claim.strip() or not measured.strip():
            raise ValueError("claim and measured must not be empty")
        verdict = ""
        if criterion is not None:
            if not isinstance(criterion, Criterion):
                raise TypeError(
                    f"criterion must be a Criterion (at_least, at_most, within, is_true, all_of), "
                    f"got {type(criterion).__name__}"
                )
            if value is None:
                raise ValueError(f"row {claim!r} has a criterion but no value to judge")
            verdict = criterion(value)
        row = Row(claim, source, lecture, measured, criterion.text if criterion else "", verdict, why, note)
        self.rows.append(row)
        return row

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
            judged = {r.claim_id: r.verdict for r in self.rows}
            missing = [p for p in claim.parts if p not in judged]
            if missing:
                raise ValueError(f"compound claim {claim_id}: judge its parts {missing} first")
            verdict = judge_claim(claim, None, parts=[judged[p] for p in claim.parts])
            text = "; ".join(f"{p.rsplit('.', 1)[-1]}: {judged[p]}" for p in claim.parts)
        else:
            verdict = judge_claim(claim, measurement, at_scale=at_scale)
            if isinstance(measurement, Fact):
                text = f"{measurement.value} (claimed {claim.expected})"
            else:
                assert isinstance(measurement, Estimate)  # judge_claim checked it
                text = f"{measurement.text(signed=claim.kind == 'effect')} (n = {measurement.n})"
        for name, value in (("measured", measured), ("why", why), ("note", note)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__} ({value!r})")
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
