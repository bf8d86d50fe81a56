"""lecture_lib.detection.matching against torchvision's Matcher and BalancedPositiveNegativeSampler."""

import pytest
import torch
import torchvision
from torchvision.models.detection._utils import BalancedPositiveNegativeSampler, Matcher

from lecture_lib.detection.matching import BELOW_LOW, BETWEEN, match, sample


def rand_iou(m: int, n: int, g: torch.Generator) -> torch.Tensor:
    iou = torch.rand(m, n, generator=g)
    iou[iou < 0.5] = torch.rand(int((iou < 0.5).sum()), generator=g) * 0.4  # many ties-free low values
    return iou


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("low_quality", [False, True])
def test_match_equals_torchvision_matcher(seed, low_quality):
    g = torch.Generator().manual_seed(seed)
    iou = rand_iou(1 + seed % 4, 30 + seed, g)
    ref = Matcher(0.7, 0.3, allow_low_quality_matches=low_quality)(iou)
    got = match(iou, high=0.7, low=0.3, allow_low_quality=low_quality)
    assert torch.equal(got, ref)
    assert Matcher.BELOW_LOW_THRESHOLD == BELOW_LOW and Matcher.BETWEEN_THRESHOLDS == BETWEEN


def test_match_ties_and_equal_thresholds():
    iou = torch.tensor([[0.5, 0.2, 0.5], [0.5, 0.6, 0.1]])
    ref = Matcher(0.5, 0.5, allow_low_quality_matches=True)(iou)
    assert torch.equal(match(iou, high=0.5, low=0.5, allow_low_quality=True), ref)


def test_match_empty():
    assert torch.equal(match(torch.zeros(0, 5), high=0.7, low=0.3), torch.full((5,), -1))
    assert match(torch.zeros(3, 0), high=0.7, low=0.3).shape == (0,)


def test_match_bad_inputs():
    with pytest.raises(ValueError, match=r"shape \(M, N\).*got \(4,\)"):
        match(torch.zeros(4), high=0.7, low=0.3)
    with pytest.raises(ValueError, match="low must be <= high"):
        match(torch.zeros(2, 2), high=0.3, low=0.7)


@pytest.mark.parametrize("seed", range(8))
def test_sample_counts_like_torchvision(seed):
    g = torch.Generator().manual_seed(seed)
    matched = torch.randint(-2, 3, (200 + 10 * seed,), generator=g)
    matched[: 40 * (seed % 3)] = -1
    pos, neg = sample(matched, num=64, positive_fraction=0.25, generator=g)
    # torchvision's convention: 1 foreground, 0 background, -1 ignored
    tv_labels = torch.where(matched >= 0, 1, torch.where(matched == BELOW_LOW, 0, -1))
    ref_pos, ref_neg = BalancedPositiveNegativeSampler(64, 0.25)([tv_labels])
    assert len(pos) == int(ref_pos[0].sum()) and len(neg) == int(ref_neg[0].sum())
    assert (matched[pos] >= 0).all() and (matched[neg] == -1).all()
    assert len(set(pos.tolist())) == len(pos) and len(set(neg.tolist())) == len(neg)


def test_sample_few_positives_fills_with_negatives():
    matched = torch.tensor([0] * 3 + [-1] * 100 + [-2] * 10)
    pos, neg = sample(matched, num=64, positive_fraction=0.5)
    assert len(pos) == 3 and len(neg) == 61
    with pytest.raises(ValueError, match="positive_fraction"):
        sample(matched, num=4, positive_fraction=1.5)


def test_sample_rois_labels_matched_boxes_and_order():
    from lecture_lib.detection.matching import sample_rois

    gt = torch.tensor([[10.0, 10.0, 40.0, 40.0]])
    props = torch.tensor([[12.0, 11.0, 41.0, 40.0], [80.0, 80.0, 100.0, 100.0], [0.0, 0.0, 5.0, 5.0]])
    targets = [
        {"boxes": gt, "labels": torch.tensor([3])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)},
    ]
    rois, labels, matched = sample_rois(
        [props, props[1:]],
        targets,
        fg_iou_thresh=0.5,
        bg_iou_thresh=0.5,
        batch_size_per_image=8,
        positive_fraction=0.5,
        generator=torch.Generator().manual_seed(0),
    )
    assert [len(r) for r in rois] == [4, 2]  # image 0: the box itself + one proposal + 2 background
    assert labels.tolist()[:2] == [3, 3] and labels.tolist()[2:] == [0, 0, 0, 0]  # foreground first
    assert torch.equal(matched, gt.repeat(2, 1))
    assert (torchvision.ops.box_iou(rois[0][:2], gt) >= 0.5).all() and (
        torchvision.ops.box_iou(rois[0][2:], gt) < 0.5
    ).all()
    # at most positive_fraction foreground
    _, labels, _ = sample_rois(
        [gt.repeat(10, 1)],
        targets[:1],
        fg_iou_thresh=0.5,
        bg_iou_thresh=0.5,
        batch_size_per_image=4,
        positive_fraction=0.25,
    )
    assert (labels > 0).sum() == 1
    with pytest.raises(ValueError, match="one proposal tensor per target, got 1 and 2"):
        sample_rois(
            [props],
            targets,
            fg_iou_thresh=0.5,
            bg_iou_thresh=0.5,
            batch_size_per_image=8,
            positive_fraction=0.25,
        )
