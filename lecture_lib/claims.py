"""Pre-registered lecture claims and the one rule that judges them.

Every row of a notebook's closing "Lecture claim vs measured here" table judges a *claim* that was
written down before the measurement, in ``lecture_lib/<concept>/claims.py``: its wording, where
the lecture or paper makes it, its kind, the claimed direction and any minimum effect or
equivalence margin *with the paper figure that margin comes from*. The notebook supplies only the
measurement; the verdict follows from one rule, the same for every row:

- **effect** (A beats B, more data helps, 300 RPN proposals ≈ 2,000 Selective Search ones): the
  notebook passes an :class:`Estimate`, a point value with its 95% interval (paired bootstrap
  over test items, and over >= 3 training seeds where the claim is about training). Direction
  ``">"``: **holds** if the whole interval lies above the margin, **does not hold here** if it
  lies wholly below it, else **inconclusive (n = ...)**. A claim about training (``training=True``:
  targets, losses, methods, data amounts, margins) whose estimate spans fewer than
  ``MIN_SEEDS`` training seeds is **inconclusive** whatever its interval: one seed's interval
  covers the test items, not the spread between training runs. ``"<"`` mirrors it. ``"≈"``: holds if
  the interval lies inside ``[-margin, +margin]``, does not hold if it lies wholly outside it.
- **scale** (97.35% on LFW, 53.3% on 783M words): the paper's absolute number at the paper's
  scale, shown beside ours with the scale ratio; **not comparable at this scale** unless the
  run reproduces the paper's setting (``at_scale=True``), where it is judged as an effect on
  ``ours - paper``.
- **fact** (parameter counts, output sizes, memory from shapes): exact, deterministic; judged by
  equality, shown as ``exact``.
- **compound**: a claim whose parts are their own rows: all parts hold -> holds; all parts do
  not hold -> does not hold here; some hold and some do not -> **holds partly** (the only place
  these words appear); otherwise inconclusive.

No per-row bands, no threshold chosen by the notebook. This module imports nothing of the
library (a base module): ``ledger.Ledger.judge`` renders the rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

HOLDS, FAILS, PARTLY = "holds", "does not hold here", "holds partly"
INCONCLUSIVE, NOT_COMPARABLE = "inconclusive", "not comparable at this scale"
VERDICT_WORDS = (HOLDS, FAILS, PARTLY, INCONCLUSIVE, NOT_COMPARABLE)
KINDS = ("effect", "scale", "fact", "compound")
MIN_SEEDS = 3  # training seeds an estimate of a claim about training must span
DIRECTIONS = (">", "<", "≈")
# Sources that are not a lecture slide or a paper: a registry may not rest on them.
_NOT_A_SOURCE = re.compile(r"issue|floor|this notebook|measured here|our own", re.IGNORECASE)
_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not hasattr(value, "__float__"):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x} (did the measurement fail?)")
    return x


@dataclass(frozen=True)
class Estimate:
    """A measured effect: ``point`` and its 95% interval ``[low, high]``.

    ``n`` says what the interval is over, e.g. ``"100 images x 3 seeds"``; ``unit`` is appended
    to the printed numbers (``" mAP"``, ``" AUC"``); ``seeds`` is the number of training seeds
    the interval spans (``metrics.paired_bootstrap`` sets it from its ``(S, N)`` scores). Build
    one with ``metrics.paired_bootstrap`` or :meth:`from_samples`, never by typing numbers.
    """

    point: float
    low: float
    high: float
    n: str
    unit: str = ""
    seeds: int = 1

    def __post_init__(self) -> None:
        for name in ("point", "low", "high"):
            object.__setattr__(self, name, _finite(getattr(self, name), name))
        if not self.low <= self.point <= self.high:
            raise ValueError(
                f"an estimate needs low <= point <= high, got point {self.point}, "
                f"interval [{self.low}, {self.high}]"
            )
        if not isinstance(self.n, str) or not self.n.strip():
            raise ValueError(f"n must say what the interval is over (e.g. '100 images'), got {self.n!r}")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"seeds must be a positive int (training seeds), got {self.seeds!r}")

    @classmethod
    def from_samples(
        cls,
        point: float,
        samples: Iterable[Any],
        *,
        n: str,
        level: float = 0.95,
        unit: str = "",
        seeds: int = 1,
    ) -> Estimate:
        """Percentile interval of bootstrap ``samples`` around ``point`` (NaN samples dropped)."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level}")
        values = sorted(float(s) for s in samples if not math.isnan(float(s)))
        if len(values) < 100:
            raise ValueError(f"an interval needs >= 100 bootstrap samples, got {len(values)}")
        tail = (1.0 - level) / 2

        def quantile(q: float) -> float:  # linear interpolation, as numpy.percentile's default
            pos = q * (len(values) - 1)
            lo, frac = int(math.floor(pos)), pos - math.floor(pos)
            hi = min(lo + 1, len(values) - 1)
            return values[lo] + frac * (values[hi] - values[lo])

        low, high = quantile(tail), quantile(1.0 - tail)
        point = _finite(point, "point")
        return cls(point, min(low, point), max(high, point), n, unit, seeds)

    def text(self, digits: int = 3, signed: bool = False) -> str:
        f = f"{{:{'+' if signed else ''}.{digits}f}}"
        return f"{f.format(self.point)}{self.unit} [{f.format(self.low)}, {f.format(self.high)}]"


@dataclass(frozen=True)
class Fact:
    """An exact, deterministic quantity measured by the notebook (a count, a shape, a size).

    The value it is compared with is the claim's registered ``expected``, never the notebook's.
    """

    value: Any


@dataclass(frozen=True)
class Claim:
    """One registered claim (see the module docstring for the kinds and the rule).

    Args:
        id: dotted id, ``<concept>.<notebook topic>.<what>`` (``"detection.rcnn.box_regression"``).
        wording: the claim in the lecture's words.
        source: slide title or paper with table/section (``"R-CNN (Girshick 2014), Table 2"``).
        kind: ``"effect"``, ``"scale"``, ``"fact"`` or ``"compound"``.
        direction: effect and scale rows: ``">"`` (the measured difference exceeds ``margin``),
            ``"<"`` (it stays below ``margin``) or ``"≈"`` (within ``±margin``).
        margin: the minimum effect (``>``/``<``) or the equivalence margin (``≈``), in the
            estimate's units.
        margin_source: the paper figure the margin is derived from; required when ``margin`` is
            not 0 or the direction is ``"≈"``.
        paper: the paper's or lecture's figure with its protocol (the "lecture / paper" column).
        parts: compound claims: the ids of the part claims, each judged on its own row.
        expected: fact claims: the exact value the lecture or paper states (an int, a shape tuple).
        training: the claim is about training (targets, losses, methods, data amounts, margins):
            its estimate must span >= ``MIN_SEEDS`` training seeds to be decided.
    """

    id: str
    wording: str
    source: str
    kind: str
    direction: str = ">"
    margin: float = 0.0
    margin_source: str = ""
    paper: str = ""
    parts: tuple[str, ...] = field(default_factory=tuple)
    expected: Any = None
    training: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise ValueError(
                f"claim id must be dotted lower-case words ('detection.rcnn.x'), got {self.id!r}"
            )
        for name in ("wording", "source"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"claim {self.id}: {name} must be a non-empty str, got {value!r}")
        if _NOT_A_SOURCE.search(self.source):
            raise ValueError(
                f"claim {self.id}: source {self.source!r} is not a slide or a paper; a registered claim "
                "cites the lecture or the literature, never this project"
            )
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"claim {self.id}: direction must be one of {DIRECTIONS}, got {self.direction!r}"
            )
        margin = _finite(self.margin, f"claim {self.id}: margin")
        if self.direction == "≈" and margin <= 0:
            raise ValueError(
                f"claim {self.id}: an '≈' claim needs a positive equivalence margin, got {margin}"
            )
        if (margin != 0 or self.direction == "≈") and not self.margin_source.strip():
            raise ValueError(
                f"claim {self.id}: margin {margin} needs margin_source, the paper figure it comes from"
            )
        if self.margin_source and _NOT_A_SOURCE.search(self.margin_source):
            raise ValueError(f"claim {self.id}: margin_source {self.margin_source!r} must cite a paper")
        if self.kind == "compound" and len(self.parts) < 2:
            raise ValueError(f"claim {self.id}: a compound claim needs >= 2 parts, got {self.parts!r}")
        if self.kind != "compound" and self.parts:
            raise ValueError(f"claim {self.id}: only compound claims have parts")
        if not isinstance(self.training, bool):
            raise TypeError(f"claim {self.id}: training must be True or False, got {self.training!r}")
        if self.training and self.kind != "effect":
            raise ValueError(f"claim {self.id}: only effect claims are about training")
        if (self.kind == "fact") != (self.expected is not None):
            raise ValueError(
                f"claim {self.id}: fact claims (and only they) register the exact expected value"
            )

    @property
    def criterion(self) -> str:
        """The rule in words, for the table's "criterion" column."""
        if self.kind == "fact":
            return "exact"
        if self.kind == "compound":
            return "all parts hold (" + ", ".join(self.parts) + ")"
        if self.kind == "scale":
            return "paper's scale: not comparable here unless reproduced"
        m = f"{self.margin:g}"
        seeds = f", >= {MIN_SEEDS} training seeds" if self.training else ""
        if self.direction == "≈":
            return f"95% interval inside ±{m}{seeds}"
        return f"95% interval {'above' if self.direction == '>' else 'below'} {m}{seeds}"


def judge_effect(claim: Claim, estimate: Estimate) -> str:
    """The rule for an effect: where the 95% interval lies relative to the claimed margin."""
    if not isinstance(estimate, Estimate):
        raise TypeError(f"claim {claim.id} needs an Estimate, got {type(estimate).__name__}")
    if claim.training and estimate.seeds < MIN_SEEDS:
        seeds = f"{estimate.seeds} training seed{'s' if estimate.seeds > 1 else ''}"
        return f"{INCONCLUSIVE} (n = {estimate.n}; {seeds}, the rule needs >= {MIN_SEEDS})"
    low, high, m = estimate.low, estimate.high, claim.margin
    if claim.direction == ">":
        decided = HOLDS if low > m else FAILS if high < m else None
    elif claim.direction == "<":
        decided = HOLDS if high < m else FAILS if low > m else None
    else:  # "≈": equivalence within ±m
        decided = HOLDS if -m <= low and high <= m else FAILS if high < -m or low > m else None
    return decided or f"{INCONCLUSIVE} (n = {estimate.n})"


def judge(claim: Claim, measurement: Any, *, at_scale: bool = False, parts: Sequence[str] = ()) -> str:
    """The verdict of ``claim`` on ``measurement`` (an :class:`Estimate`, a :class:`Fact`, or for a
    compound claim the verdicts of its parts)."""
    if not isinstance(claim, Claim):
        raise TypeError(f"claim must be a Claim, got {type(claim).__name__}")
    if claim.kind == "fact":
        if not isinstance(measurement, Fact):
            raise TypeError(f"fact claim {claim.id} needs a Fact(value), got {type(measurement).__name__}")
        return HOLDS if bool(measurement.value == claim.expected) else FAILS
    if claim.kind == "scale":
        if not isinstance(measurement, Estimate):
            raise TypeError(f"scale claim {claim.id} needs an Estimate, got {type(measurement).__name__}")
        return judge_effect(claim, measurement) if at_scale else NOT_COMPARABLE
    if claim.kind == "compound":
        verdicts = list(parts or measurement)
        if len(verdicts) != len(claim.parts):
            raise ValueError(
                f"compound claim {claim.id} needs {len(claim.parts)} part verdicts, got {verdicts!r}"
            )
        if all(v == HOLDS for v in verdicts):
            return HOLDS
        if all(v == FAILS for v in verdicts):
            return FAILS
        if any(v == HOLDS for v in verdicts) and any(v == FAILS for v in verdicts):
            return PARTLY
        return f"{INCONCLUSIVE} (parts: {', '.join(verdicts)})"
    return judge_effect(claim, measurement)


class ClaimRegistry:
    """The claims one notebook judges, registered before it measures anything.

    ``REGISTRY = ClaimRegistry("03a_rcnn", [Claim(...), ...])`` in ``<concept>/claims.py``; the
    notebook's ledger is ``Ledger(title, claims=REGISTRY)`` and every row ``ledger.judge(id, ...)``.
    """

    def __init__(self, notebook: str, claims: Iterable[Claim]):
        if not isinstance(notebook, str) or not re.match(r"^\d\d[a-z]?_\w+$", notebook):
            raise ValueError(f"notebook must be a notebook stem like '03a_rcnn', got {notebook!r}")
        self.notebook = notebook
        self._claims: dict[str, Claim] = {}
        for claim in claims:
            if not isinstance(claim, Claim):
                raise TypeError(f"a registry holds Claims, got {type(claim).__name__}")
            if claim.id in self._claims:
                raise ValueError(f"claim id {claim.id!r} is registered twice in {notebook}")
            self._claims[claim.id] = claim
        for claim in self._claims.values():
            missing = [p for p in claim.parts if p not in self._claims]
            if missing:
                raise ValueError(f"compound claim {claim.id} names unregistered parts {missing}")

    def __getitem__(self, claim_id: str) -> Claim:
        try:
            return self._claims[claim_id]
        except KeyError:
            raise KeyError(
                f"{claim_id!r} is not registered for {self.notebook}; registered: {sorted(self._claims)}"
            ) from None

    def __iter__(self) -> Iterator[Claim]:
        return iter(self._claims.values())

    def __len__(self) -> int:
        return len(self._claims)

    def __contains__(self, claim_id: object) -> bool:
        return claim_id in self._claims
