"""The one verdict rule (lecture_lib.claims), its estimates (metrics.bootstrap) and Ledger.judge."""

import numpy as np
import pytest
import scipy.stats

from lecture_lib.claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_COMPARABLE,
    PARTLY,
    Claim,
    ClaimRegistry,
    Estimate,
    Fact,
    judge,
)
from lecture_lib.ledger import Ledger
from lecture_lib.metrics import bootstrap_statistic, paired_bootstrap

PAPER = "R-CNN (Girshick et al. 2014), Table 2"


def effect(direction=">", margin=0.0, **kw):
    src = {"margin_source": "Faster R-CNN Table 2: 0.3 points"} if margin or direction == "≈" else {}
    return Claim("detection.rcnn.x", "A beats B", PAPER, "effect", direction, margin, **src, **kw)


def est(low, high, point=None):
    return Estimate((low + high) / 2 if point is None else point, low, high, n="100 images")


@pytest.mark.parametrize(
    ("direction", "margin", "low", "high", "verdict"),
    [
        (">", 0.0, 0.01, 0.05, HOLDS),
        (">", 0.0, -0.05, -0.01, FAILS),
        (">", 0.0, -0.01, 0.05, INCONCLUSIVE),
        (">", 0.0, 0.0, 0.05, INCONCLUSIVE),  # touching the margin is not wholly above it
        (">", 0.02, 0.01, 0.05, INCONCLUSIVE),
        (">", 0.02, 0.03, 0.05, HOLDS),
        ("<", 0.0, -0.05, -0.01, HOLDS),
        ("<", 0.0, 0.01, 0.05, FAILS),
        ("≈", 0.03, -0.02, 0.02, HOLDS),
        ("≈", 0.03, -0.02, 0.04, INCONCLUSIVE),
        ("≈", 0.03, 0.04, 0.09, FAILS),
        ("≈", 0.03, -0.09, -0.04, FAILS),
    ],
)
def test_effect_rule_depends_only_on_where_the_interval_lies(direction, margin, low, high, verdict):
    got = judge(effect(direction, margin), est(low, high))
    assert got.startswith(verdict)
    if verdict == INCONCLUSIVE:
        assert got == "inconclusive (n = 100 images)"


def test_scale_claims_are_not_comparable_unless_at_scale():
    claim = Claim(
        "faces.deepface.lfw",
        "97.35% on LFW",
        "DeepFace (Taigman 2014), Table 3",
        "scale",
        ">",
        -0.01,
        margin_source="DeepFace Table 3: ± 0.25 std",
    )
    assert judge(claim, est(-0.3, -0.2)) == NOT_COMPARABLE
    assert judge(claim, est(-0.3, -0.2), at_scale=True) == FAILS
    assert judge(claim, est(0.0, 0.01), at_scale=True) == HOLDS


def test_fact_claims_are_exact():
    claim = Claim(
        "cnn.lenet.params", "LeNet-5 has 61,706 parameters", "LeCun 1998, Sec. II.B", "fact", expected=61706
    )
    assert judge(claim, Fact(61706)) == HOLDS
    assert judge(claim, Fact(61707)) == FAILS
    with pytest.raises(ValueError, match="expected value"):
        Claim("cnn.lenet.params", "w", "LeCun 1998", "fact")
    with pytest.raises(TypeError, match="Fact"):
        judge(claim, est(0, 1))


def test_compound_holds_partly_only_when_parts_disagree():
    claim = Claim("pose.x.both", "both parts", "slides: Pose", "compound", parts=("pose.x.a", "pose.x.b"))
    assert judge(claim, None, parts=[HOLDS, HOLDS]) == HOLDS
    assert judge(claim, None, parts=[FAILS, FAILS]) == FAILS
    assert judge(claim, None, parts=[HOLDS, FAILS]) == PARTLY
    assert judge(claim, None, parts=[HOLDS, "inconclusive (n = 3)"]).startswith(INCONCLUSIVE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(source="issue floor"), "not a slide or a paper"),
        (dict(direction="≈"), "positive equivalence margin"),
        (dict(margin=0.02), "margin_source"),
        (dict(kind="effects"), "kind must be one of"),
        (dict(id="Bad Id"), "dotted"),
        (dict(margin=float("nan"), margin_source="x"), "finite"),
    ],
)
def test_a_claim_must_cite_its_source_and_margin(kwargs, message):
    base = dict(id="detection.rcnn.x", wording="w", source=PAPER, kind="effect")
    with pytest.raises((ValueError, TypeError), match=message):
        Claim(**{**base, **kwargs})


def test_registry_refuses_duplicates_and_unknown_parts():
    a = effect()
    with pytest.raises(ValueError, match="twice"):
        ClaimRegistry("03a_rcnn", [a, a])
    c = Claim("detection.rcnn.c", "w", PAPER, "compound", parts=("detection.rcnn.x", "detection.rcnn.y"))
    with pytest.raises(ValueError, match="unregistered parts"):
        ClaimRegistry("03a_rcnn", [a, c])
    reg = ClaimRegistry("03a_rcnn", [a])
    with pytest.raises(KeyError, match="not registered"):
        reg["detection.rcnn.nope"]


def test_estimate_refuses_nan_and_inverted_intervals():
    with pytest.raises(ValueError, match="finite"):
        Estimate(float("nan"), 0, 1, n="3 seeds")
    with pytest.raises(ValueError, match="low <= point <= high"):
        Estimate(0.5, 0.6, 0.7, n="3 seeds")
    with pytest.raises(ValueError, match="n must say"):
        Estimate(0.5, 0.4, 0.7, n="")


def test_paired_bootstrap_matches_scipy_percentile_interval():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.7, 0.1, 200), rng.normal(0.6, 0.1, 200)
    ours = paired_bootstrap(a, b, n_resamples=4000, seed=0)
    ref = scipy.stats.bootstrap(
        (a, b),
        lambda x, y, axis=-1: np.mean(x - y, axis=axis),
        paired=True,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(0),
        vectorized=True,
    ).confidence_interval
    assert ours.point == pytest.approx(np.mean(a - b))
    assert ours.low == pytest.approx(ref.low, abs=0.006) and ours.high == pytest.approx(ref.high, abs=0.006)


def test_pairing_removes_what_both_methods_share():
    rng = np.random.default_rng(2)
    difficulty = rng.normal(0, 1.0, 300)  # shared by both methods
    a, b = difficulty + 0.1 + rng.normal(0, 0.05, 300), difficulty + rng.normal(0, 0.05, 300)
    paired = paired_bootstrap(a, b)
    unpaired_width = paired_bootstrap(a).high - paired_bootstrap(a).low
    assert paired.low > 0 and (paired.high - paired.low) < unpaired_width / 5


def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    hits = sum(
        (e := paired_bootstrap(rng.normal(1.0, 1.0, 60), seed=k)).low <= 1.0 <= e.high for k in range(200)
    )
    assert 0.88 <= hits / 200 <= 0.99


def test_seed_dimension_widens_the_interval_when_seeds_disagree():
    rng = np.random.default_rng(4)
    items = rng.normal(0.0, 0.1, 100)
    agree = np.stack([items + 0.2] * 3)
    disagree = np.stack([items + 0.2 + s for s in (-0.15, 0.0, 0.15)])
    e_agree, e_dis = paired_bootstrap(agree), paired_bootstrap(disagree)
    assert e_agree.n == "100 items x 3 seeds"
    assert (e_dis.high - e_dis.low) > 3 * (e_agree.high - e_agree.low)


def test_bootstrap_statistic_on_indices():
    x = np.arange(50, dtype=float)
    e = bootstrap_statistic(lambda idx: x[idx].max(), 50, item="images")
    assert e.point == 49 and e.high == 49 and e.low < 49 and e.n == "50 images"


@pytest.mark.parametrize(
    ("a", "b", "kw", "message"),
    [
        ([1.0, float("nan")], None, {}, "NaN"),
        ([1.0, 2.0], [1.0], {}, "paired"),
        ([], None, {}, "at least one"),
        ([1.0], None, {"n_resamples": 10}, ">= 1000"),
        (np.zeros((2, 2, 2)), None, {}, "shape"),
    ],
)
def test_paired_bootstrap_bad_input(a, b, kw, message):
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(a, b, **kw)


def test_ledger_judge_renders_interval_exact_and_compound():
    reg = ClaimRegistry(
        "03a_rcnn",
        [
            effect(),
            Claim("detection.rcnn.y", "fact", PAPER, "fact", expected=3),
            Claim(
                "detection.rcnn.z", "both", PAPER, "compound", parts=("detection.rcnn.x", "detection.rcnn.y")
            ),
        ],
    )
    ledger = Ledger("R-CNN", claims=reg)
    ledger.judge("detection.rcnn.x", est(-0.02, 0.01, 0.0), why="too few scenes")
    ledger.judge("detection.rcnn.y", Fact(3))
    ledger.judge("detection.rcnn.z")
    md = ledger.to_markdown()
    assert "+0.000 [-0.020, +0.010] (n = 100 images)" in md and "inconclusive (n = 100 images): too few" in md
    assert "| exact |" in md and "3 (claimed 3)" in md
    assert [r.claim_id for r in ledger.rows] == ["detection.rcnn.x", "detection.rcnn.y", "detection.rcnn.z"]
    assert ledger.rows[2].verdict.startswith(INCONCLUSIVE)
    # a compound row shows its parts' values and verdict words
    assert ledger.rows[2].measured == "x: +0.000 [-0.020, +0.010] inconclusive; y: 3 holds"
    with pytest.raises(KeyError, match="not registered"):
        ledger.judge("detection.rcnn.nope", est(0, 1))
    with pytest.raises(ValueError, match="no claim registry"):
        Ledger("t").judge("detection.rcnn.x", est(0, 1))


def test_a_claim_about_training_needs_three_seeds():
    claim = effect(training=True)
    one_seed = est(0.01, 0.05)  # wholly above 0, but over test items of one training run only
    assert judge(claim, one_seed) == ("inconclusive (n = 100 images; 1 training seed, the rule needs >= 3)")
    three = Estimate(0.03, 0.01, 0.05, n="100 images x 3 seeds", seeds=3)
    assert judge(claim, three) == HOLDS
    assert judge(claim, Estimate(-0.03, -0.05, -0.01, n="100 images x 3 seeds", seeds=3)) == FAILS
    assert judge(effect(), one_seed) == HOLDS  # not about training: test items suffice
    assert ">= 3 training seeds" in claim.criterion and "seeds" not in effect().criterion
    with pytest.raises(ValueError, match="only effect claims"):
        Claim("faces.x.y", "w", PAPER, "scale", training=True)
    with pytest.raises(ValueError, match="seeds must be a positive int"):
        Estimate(0.1, 0.0, 0.2, n="1 image", seeds=0)


def test_paired_bootstrap_counts_the_seeds():
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 50)), rng.random((3, 50))
    assert paired_bootstrap(a, b).seeds == 3 and paired_bootstrap(a[0], b[0]).seeds == 1
    assert paired_bootstrap(a, b).n == "50 items x 3 seeds"
