"""lecture_lib.cnn.experiments: the depth sweep (seeded, global RNG untouched) and activation maps."""

from __future__ import annotations

import pytest
import torch

from lecture_lib import cnn


def test_depth_sweep_runs_and_records():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 1, 8, 8, generator=g), torch.randint(0, 3, (40,), generator=g)
    out = cnn.depth_sweep((4, 6), x, y, residual=True, epochs=2, batch_size=16)
    assert out["depth"] == [4, 6]
    assert len(out["train_loss"][0]) == 2 and all(v > 0 for v in out["grad_norm"] + out["grad_norm_init"])
    again = cnn.depth_sweep((4, 6), x, y, residual=True, epochs=2, batch_size=16)
    assert again["final_loss"] == out["final_loss"]  # deterministic
    other = cnn.depth_sweep((4,), x, y, residual=True, epochs=2, batch_size=16, seed=1)
    assert other["final_loss"][0] != out["final_loss"][0]  # the seed matters
    with pytest.raises(ValueError, match=r"need x \[N, C, H, W\] and y \[N\].*got \(40, 8, 8\) and \(40,\)"):
        cnn.depth_sweep((4,), x[:, 0], y, residual=True)


def test_activation_maps_equal_prefix_of_features():
    torch.manual_seed(0)
    net = cnn.LeNet(image_size=16)
    x = torch.rand(1, 1, 40, 50)  # larger than LeNet's input: the layers after `layer` never run
    torch.testing.assert_close(cnn.activation_maps(net, "features.1", x), net.features[:2](x))
    assert net.training  # mode restored
    with pytest.raises(ValueError, match="layer must name a submodule.*got 'conv9'"):
        cnn.activation_maps(net, "conv9", x)


def test_full_profile_paths_offline():
    """The full profile's explorer (ImageNet ResNet-18 layers) and MNIST-sized sweeps, no downloads."""
    import torchvision

    weights = torchvision.models.ResNet18_Weights.DEFAULT  # transforms and metadata need no download
    net = torchvision.models.resnet18(weights=None).eval()
    image = torch.randint(0, 256, (3, 120, 90), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    x = weights.transforms()(image)[None]
    assert cnn.activation_maps(net, "relu", x).shape == (1, 64, 112, 112)
    assert cnn.activation_maps(net, "layer4", x).shape == (1, 512, 7, 7)
    assert cnn.deep_net(8, residual=True)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert cnn.LeNet(image_size=28)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_depth_sweep_leaves_the_global_rng_alone():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(20, 1, 8, 8, generator=g), torch.randint(0, 3, (20,), generator=g)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    cnn.depth_sweep((4,), x, y, residual=False, epochs=1, batch_size=8)
    assert torch.equal(torch.rand(3), expected)


def test_depth_sweep_reproduces_a_seeded_run_by_hand():
    """The sweep = deep_net initialised under manual_seed(seed), trained by fit on a seeded loader."""
    from lecture_lib.train import fit

    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(24, 1, 8, 8, generator=g), torch.randint(0, 3, (24,), generator=g)
    out = cnn.depth_sweep((6,), x, y, residual=True, epochs=2, batch_size=8, seed=5)
    with torch.random.fork_rng():
        torch.manual_seed(5)
        net = cnn.deep_net(6, residual=True, num_classes=3)
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, y),
            batch_size=8,
            shuffle=True,
            generator=torch.Generator().manual_seed(5),
        )
        history = fit(net, loader, epochs=2, lr=2e-3, progress=False)
    assert out["final_loss"] == [history.train_loss[-1]]
    net.eval()
    with torch.no_grad():
        by_hand = torch.nn.functional.cross_entropy(net(x), y, reduction="none")
    assert out["item_loss"][0].shape == (24,)
    torch.testing.assert_close(out["item_loss"][0], by_hand)  # each item's loss under the trained net
