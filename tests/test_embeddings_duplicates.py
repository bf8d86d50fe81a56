"""lecture_lib.embeddings.duplicates: perturbations against torchvision/PIL, the search against
scikit-learn's NearestNeighbors, the threshold and rates against brute-force counts, bad inputs."""

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from sklearn.neighbors import NearestNeighbors

from lecture_lib.embeddings import duplicates as dup


def images(n=6, size=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth random images (JPEG-friendly): upsampled noise
    return torch.nn.functional.interpolate(torch.rand(n, 3, 6, 6, generator=g), size=size, mode="bilinear")


@pytest.mark.parametrize("kind", dup.PERTURBATIONS)
def test_perturb_shape_range_and_seeding(kind):
    x = images()
    a = dup.perturb(x, kind, generator=torch.Generator().manual_seed(1))
    b = dup.perturb(x, kind, generator=torch.Generator().manual_seed(1))
    assert a.shape == x.shape and a.dtype == torch.float32
    assert a.min() >= 0 and a.max() <= 1
    torch.testing.assert_close(a, b)
    assert (a - x).abs().mean() > 1e-3  # the copy is changed


def test_flip_is_a_mirror():
    x = images()
    torch.testing.assert_close(dup.perturb(x, "flip"), TF.hflip(x))


def test_colour_matches_direct_computation():
    x = images()
    g = torch.Generator().manual_seed(3)
    gain = 2 ** (-dup.COLOUR_GAIN + 2 * dup.COLOUR_GAIN * torch.rand(x.shape[0] * 3, generator=g)).view(
        -1, 3, 1, 1
    )
    offset = (-dup.COLOUR_OFFSET + 2 * dup.COLOUR_OFFSET * torch.rand(x.shape[0], generator=g)).view(
        -1, 1, 1, 1
    )
    want = (x * gain + offset).clamp(0, 1)
    torch.testing.assert_close(dup.perturb(x, "colour", generator=torch.Generator().manual_seed(3)), want)


def test_crop_and_resize_match_torchvision():
    x = images(4, 32)
    n, h = x.shape[0], x.shape[-1]
    for kind, (lo, hi) in (("crop", dup.CROP_KEEP), ("resize", dup.RESIZE_TO)):
        g = torch.Generator().manual_seed(5)
        keep = lo + (hi - lo) * torch.rand(n, generator=g)
        pos = torch.rand(n, 2, generator=g)
        got = dup.perturb(x, kind, generator=torch.Generator().manual_seed(5))
        for i in range(n):
            s = round(h * keep[i].item())
            if kind == "crop":
                top, left = int(pos[i, 0] * (h - s + 1)), int(pos[i, 1] * (h - s + 1))
                want = TF.resized_crop(x[i], top, left, s, s, [h, h], antialias=True)
            else:
                want = TF.resize(TF.resize(x[i], [s, s], antialias=True), [h, h], antialias=True)
            torch.testing.assert_close(got[i], want.clamp(0, 1), atol=1e-5, rtol=0)


def test_jpeg_roundtrip_matches_imageio():
    iio = pytest.importorskip("imageio.v3")
    x = images(3, 32)
    got = dup.jpeg_roundtrip(x, 60)
    for i in range(3):
        u8 = (x[i].permute(1, 2, 0) * 255).round().byte().numpy()
        data = iio.imwrite("<bytes>", u8, extension=".jpg", quality=60)
        want = torch.from_numpy(iio.imread(data)).permute(2, 0, 1).float() / 255
        torch.testing.assert_close(got[i], want, atol=1 / 255 + 1e-6, rtol=0)


def test_jpeg_error_falls_with_quality():
    x = images(4, 32)
    err = [(dup.jpeg_roundtrip(x, q) - x).abs().mean().item() for q in (10, 40, 95)]
    assert err[0] > err[1] > err[2] > 0


def test_jpeg_quality_checked():
    with pytest.raises(ValueError, match="quality must be in 1..100"):
        dup.jpeg_roundtrip(images(2), 0)
    with pytest.raises(ValueError, match="quality"):
        dup.jpeg_roundtrip(images(2), torch.tensor([50, 50, 50]))


def test_perturb_bad_inputs():
    with pytest.raises(ValueError, match="kind must be one of"):
        dup.perturb(images(), "rotate")
    with pytest.raises(ValueError, match=r"Tensor\[N, 3, H, W\].*got \(3, 8, 8\)"):
        dup.perturb(torch.rand(3, 8, 8), "flip")
    with pytest.raises(TypeError, match="float"):
        dup.perturb(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "flip")


@pytest.mark.parametrize("seed", range(3))
def test_nearest_neighbours_match_sklearn(seed):
    g = torch.Generator().manual_seed(seed)
    index, queries = torch.randn(50, 8, generator=g), torch.randn(20, 8, generator=g)
    idx, sim = dup.nearest_neighbours(index, queries)
    nn_ = NearestNeighbors(n_neighbors=1, metric="cosine").fit(index.numpy())
    dist, want = nn_.kneighbors(queries.numpy())
    assert idx.tolist() == want[:, 0].tolist()
    np.testing.assert_allclose(sim.numpy(), 1 - dist[:, 0], atol=1e-6)


def test_nearest_neighbours_bad_inputs():
    with pytest.raises(ValueError, match="index has D=4 but queries have D=3"):
        dup.nearest_neighbours(torch.randn(5, 4), torch.randn(2, 3))
    with pytest.raises(ValueError, match="queries must be a non-empty float Tensor"):
        dup.nearest_neighbours(torch.randn(5, 4), torch.randn(0, 4))
    with pytest.raises(ValueError, match="index must be"):
        dup.nearest_neighbours(torch.randn(5), torch.randn(2, 5))


def test_embed_for_search_is_unit_and_mirror_invariant():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 24 * 24, 5))
    x = images()
    e = dup.embed_for_search(net, x)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(x.shape[0]))
    torch.testing.assert_close(dup.embed_for_search(net, x.flip(-1)), e, atol=1e-5, rtol=0)
    plain = dup.embed_for_search(net, x, mirror_invariant=False)
    torch.testing.assert_close(plain, torch.nn.functional.normalize(net(x), dim=1), atol=1e-6, rtol=0)


def scores(seed, n_copy=200, n_new=300):
    g = torch.Generator().manual_seed(seed)
    sim = torch.cat([0.7 + 0.3 * torch.rand(n_copy, generator=g), 0.9 * torch.rand(n_new, generator=g)])
    return sim, torch.arange(n_copy + n_new) < n_copy


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("budget", [0.0, 0.01, 0.05])
def test_threshold_is_the_loosest_within_budget(seed, budget):
    sim, is_copy = scores(seed)
    t = dup.choose_threshold(sim, is_copy, max_false_match=budget)
    rates = dup.duplicate_rates(sim, is_copy, t)
    assert rates["false_match_rate"] <= budget
    # brute force: the loosest threshold among the observed similarities within the budget
    new = sim[~is_copy]
    ok = [float(c) for c in sim if (new >= c).float().mean() <= budget]
    best = min(ok) if ok else float("inf")
    recall_bf = (sim[is_copy] >= best).float().mean().item()
    assert rates["recall"] == pytest.approx(recall_bf)


def test_rates_match_direct_counts():
    sim, is_copy = scores(9)
    r = dup.duplicate_rates(sim, is_copy, 0.8)
    assert r["recall"] == pytest.approx((sim[is_copy] >= 0.8).float().mean().item())
    assert r["false_match_rate"] == pytest.approx((sim[~is_copy] >= 0.8).float().mean().item())
    assert (r["copies"], r["new"]) == (200, 300)


def test_rates_bad_inputs():
    sim, is_copy = scores(0)
    with pytest.raises(ValueError, match="is_copy must be a bool"):
        dup.duplicate_rates(sim, is_copy.long(), 0.5)
    with pytest.raises(ValueError, match="need both copies and new images"):
        dup.choose_threshold(sim, torch.ones_like(is_copy))
    with pytest.raises(ValueError, match="similarity must be a Tensor"):
        dup.duplicate_rates(sim[None], is_copy, 0.5)
    with pytest.raises(ValueError, match="far must be"):
        dup.choose_threshold(sim, is_copy, max_false_match=2.0)


def test_embed_for_search_bound_method_runs_in_eval_and_restores_mode():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten())
    net.train()
    x = images(4)
    got = dup.embed_for_search(net.forward, x, mirror_invariant=False)
    assert net.training
    net.eval()
    torch.testing.assert_close(got, torch.nn.functional.normalize(net(x), dim=1), atol=1e-6, rtol=0)


def test_copy_detector_ignores_a_colour_gain_and_offset():
    net = dup.CopyDetector(embedding_dim=8, width=4, input_size=8).eval()
    x = 0.2 + 0.5 * images(3, 16)  # stays inside [0, 1] after the shift: no clipping
    shifted = x * torch.tensor([1.2, 0.9, 1.1]).view(1, 3, 1, 1) + 0.03
    with torch.no_grad():
        torch.testing.assert_close(net(shifted), net(x), atol=2e-3, rtol=0)
        assert (net(x.flip(-1)) - net(x)).abs().max() > 1e-3  # but it sees the picture


def test_crop_views_match_torchvision():
    x = images(2, 25)
    views = dup.crop_views(x, keep=0.8)
    assert len(views) == 6 and all(v.shape == x.shape for v in views)
    torch.testing.assert_close(views[0], x)
    c = round(25 * 0.8)
    tops = [(0, 0), (0, 25 - c), (25 - c, 0), (25 - c, 25 - c), ((25 - c) // 2, (25 - c) // 2)]
    for v, (top, left) in zip(views[1:], tops):
        torch.testing.assert_close(
            v, TF.resized_crop(x, top, left, c, c, [25, 25], antialias=True), atol=1e-5, rtol=0
        )
    with pytest.raises(ValueError, match=r"keep must be a fraction of the side in \(0, 1\], got 1.5"):
        dup.crop_views(x, keep=1.5)
