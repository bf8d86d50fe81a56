"""lecture_lib.pose.heatmaps against per-pixel loops; decoding round trips; bad inputs."""

import math

import pytest
import torch

from lecture_lib.pose import disk_heatmaps, gaussian_heatmaps, heatmaps_to_keypoints


def disk_loop(keypoints, size, radius, visible):
    h, w = size
    out = torch.zeros(len(keypoints), h, w)
    for k, (x, y) in enumerate(keypoints.tolist()):
        if not visible[k]:
            continue
        for i in range(h):
            for j in range(w):
                out[k, i, j] = float((j - x) ** 2 + (i - y) ** 2 <= radius**2)
    return out


def gaussian_loop(keypoints, size, sigma, visible):
    h, w = size
    out = torch.zeros(len(keypoints), h, w)
    for k, (x, y) in enumerate(keypoints.tolist()):
        if visible[k]:
            for i in range(h):
                for j in range(w):
                    out[k, i, j] = math.exp(-((j - x) ** 2 + (i - y) ** 2) / (2 * sigma**2))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_disk_matches_pixel_loop(seed):
    g = torch.Generator().manual_seed(seed)
    size = (13, 17)
    kp = torch.rand(5, 2, generator=g) * torch.tensor([23.0, 19.0]) - 3  # some outside the image
    kp[0] = torch.tensor([4.0, 6.0])  # integer centre: boundary pixels
    visible = torch.rand(5, generator=g) > 0.3
    for radius in (0.0, 1.0, 2.0, 2.5, 4.0):
        got = disk_heatmaps(kp, size, radius, visible)
        assert got.dtype == torch.float32 and got.shape == (5, *size)
        torch.testing.assert_close(got, disk_loop(kp, size, radius, visible.tolist()))


def test_disk_hand_example_and_defaults():
    maps = disk_heatmaps(torch.tensor([[2.0, 1.0]]), (4, 5), 1.0)  # visible=None: all visible
    expected = torch.tensor(
        [[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.float32
    )
    torch.testing.assert_close(maps[0], expected)
    far = disk_heatmaps(torch.tensor([[100.0, -50.0]]), (4, 5), 3.0)
    assert far.sum() == 0  # outside: empty disk


@pytest.mark.parametrize("seed", range(3))
def test_gaussian_matches_loop_and_peak(seed):
    g = torch.Generator().manual_seed(seed)
    kp = torch.rand(4, 2, generator=g) * 10
    visible = torch.tensor([True, False, True, True])
    got = gaussian_heatmaps(kp, (11, 12), 1.5, visible)
    torch.testing.assert_close(got, gaussian_loop(kp, (11, 12), 1.5, visible.tolist()))
    on_grid = gaussian_heatmaps(torch.tensor([[3.0, 5.0]]), (9, 9), 2.0)[0]
    assert on_grid[5, 3] == 1.0 and on_grid.argmax() == 5 * 9 + 3  # peak value 1 at (row y, col x)
    assert on_grid[5, 5].item() == pytest.approx(math.exp(-4 / 8))  # 2 px away, sigma 2
    assert got[1].abs().sum() == 0


def test_decode_integer_peaks_exactly():
    kp = torch.tensor([[3.0, 7.0], [0.0, 0.0], [9.0, 4.0]])  # includes a corner
    maps = gaussian_heatmaps(kp, (10, 10), 1.0)
    for subpixel in (False, True):
        xy, conf = heatmaps_to_keypoints(maps, subpixel=subpixel)
        torch.testing.assert_close(xy, kp)
        torch.testing.assert_close(conf, torch.ones(3))


@pytest.mark.parametrize("seed", range(4))
def test_decode_round_trip_subpixel(seed):
    g = torch.Generator().manual_seed(seed)
    kp = 2 + torch.rand(2, 3, 14, 2, generator=g) * 20  # (B, N, K, 2): leading dims work
    maps = torch.stack([torch.stack([gaussian_heatmaps(k, (24, 26), 1.75) for k in b]) for b in kp])
    coarse, _ = heatmaps_to_keypoints(maps, subpixel=False)
    fine, conf = heatmaps_to_keypoints(maps)
    assert fine.shape == kp.shape and conf.shape == kp.shape[:-1]
    assert (coarse - kp).abs().max() <= 0.5 + 1e-6  # argmax: within half a pixel
    assert (fine - kp).abs().max() <= 0.5 + 1e-6
    assert (fine - kp).norm(dim=-1).mean() < 0.5 * (coarse - kp).norm(dim=-1).mean()  # sub-pixel helps


def test_decode_brute_force_argmax():
    g = torch.Generator().manual_seed(0)
    maps = torch.rand(3, 5, 7, generator=g)
    xy, conf = heatmaps_to_keypoints(maps, subpixel=False)
    for k in range(3):
        best = max((maps[k, i, j].item(), j, i) for i in range(5) for j in range(7))
        assert conf[k].item() == best[0] and xy[k].tolist() == [best[1], best[2]]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: disk_heatmaps(torch.zeros(3, 3), (4, 4), 1.0), r"shape \(K, 2\).*got \(3, 3\)"),
        (lambda: disk_heatmaps(torch.zeros(3), (4, 4), 1.0), r"shape \(K, 2\).*got \(3,\)"),
        (lambda: disk_heatmaps(torch.zeros(3, 2), (4, 4), -1.0), r"radius must be a number >= 0.*got -1.0"),
        (
            lambda: disk_heatmaps(torch.zeros(3, 2), (4, 4), 1.0, torch.ones(2, dtype=torch.bool)),
            r"visible must be a Tensor of shape \(3,\).*got \(2,\)",
        ),
        (lambda: disk_heatmaps(torch.zeros(3, 2), (4,), 1.0), r"size must be \(H, W\).*got \(4,\)"),
        (lambda: disk_heatmaps(torch.zeros(3, 2), (4, 0), 1.0), r"size must be \(H, W\)"),
        (
            lambda: gaussian_heatmaps(torch.zeros(3, 2), (4, 4), -0.5),
            r"sigma must be a number >= 0.*got -0.5",
        ),
        (lambda: gaussian_heatmaps(torch.zeros(3, 2), (4, 4), 0.0), r"sigma must be > 0"),
        (
            lambda: gaussian_heatmaps(torch.zeros(3, 2), (4, 4), 1.0, torch.ones(4)),
            r"shape \(3,\).*got \(4,\)",
        ),
        (lambda: heatmaps_to_keypoints(torch.zeros(4, 4)), r"shape \(\.\.\., K, H, W\), got \(4, 4\)"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
