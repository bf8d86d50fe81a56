"""Smoke mode (the full profile offline on fixtures): network guard, fixtures in the real layouts,
untrained builders, two training steps, floors reported instead of raised, cfg.pick(smoke=...)."""

from __future__ import annotations

import ast
import json
import socket
import urllib.request

import numpy as np
import pytest
import torch
import torchvision

from lecture_lib import config, data, smoke
from lecture_lib.datasets import fixtures
from lecture_lib.train import RandomBatches, fit


@pytest.fixture
def smoke_env(tmp_path, monkeypatch):
    """setup("full") in smoke mode with a temporary cache; left again afterwards."""
    monkeypatch.setenv("LECTURE_SMOKE", "1")
    monkeypatch.setenv("LECTURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LECTURE_SMOKE_LOG", str(tmp_path / "smoke.log"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("LECTURE_DATA_DIR", raising=False)
    cfg = config.setup("full", verbose=False)
    yield cfg
    smoke.deactivate()


def _events(tmp_path):
    path = tmp_path / "smoke.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_setup_enters_smoke_mode_on_cpu_with_fixtures(smoke_env, tmp_path):
    assert smoke_env.smoke and smoke_env.full and smoke_env.device.type == "cpu"
    assert torch.get_num_threads() == 1
    assert (tmp_path / "cache" / "datasets" / fixtures.MARKER).is_file()
    assert smoke.active()
    config.setup("quick", verbose=False)  # a later non-smoke setup leaves smoke mode
    assert not smoke.active()


def test_smoke_answers_the_fixtures_checksums_only_while_active(smoke_env, tmp_path):
    """faces.pretrained asks smoke for LFW's checksums (no module patches another's globals)."""
    from lecture_lib.faces import pretrained as faces_pretrained

    files = faces_pretrained.lfw_files()
    assert files != faces_pretrained.LFW_FILES  # the fixture's files and SHA-256s, not the mirror's
    assert all(url.startswith("file:") and len(sha) == 64 for url, sha in files.values())
    assert smoke.fixture("gensim_data_dir") == str(tmp_path / "cache" / "datasets" / "gensim-data")
    smoke.deactivate()
    assert faces_pretrained.lfw_files() == faces_pretrained.LFW_FILES
    assert smoke.fixture("lfw_files") is None
    with pytest.raises(TypeError, match="key must be a str"):
        smoke.fixture(1)


def test_quick_profile_ignores_the_smoke_flag(monkeypatch):
    monkeypatch.setenv("LECTURE_SMOKE", "1")
    cfg = config.setup("quick", verbose=False)
    assert not cfg.smoke and not smoke.active()


def test_network_is_refused_even_under_except_exception(smoke_env, tmp_path):
    for attempt in (
        lambda: socket.create_connection(("example.com", 80), timeout=1),
        lambda: urllib.request.urlopen("http://93.184.215.14/", timeout=1),
        lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("10.0.0.1", 80)),
    ):
        with pytest.raises(smoke.NetworkBlocked, match="network access refused"):
            try:
                attempt()
            except Exception:  # what a careless fallback would do: must not swallow it
                pytest.fail("the guard's exception was swallowed by `except Exception`")
    assert [e["kind"] for e in _events(tmp_path)] == ["network"] * 3
    a, b = socket.socketpair()  # local (AF_UNIX) sockets, as kernels use, still work
    a.sendall(b"ok")
    assert b.recv(2) == b"ok"
    a.close(), b.close()


def test_unguard_restores_the_socket_layer(smoke_env):
    smoke.deactivate()
    assert socket.getaddrinfo("localhost", 80)  # no NetworkBlocked


def test_fixtures_load_through_the_real_dataset_classes(smoke_env, tmp_path):
    from lecture_lib.datasets import digits
    from lecture_lib.detection.pretrained import voc_subset
    from lecture_lib.faces import pretrained as faces_pretrained
    from lecture_lib.transfer.pretrained import dataset_labels, split_tensors, target_dataset

    root = tmp_path / "cache" / "datasets"
    x, y = digits.training_tensors("mnist", limit=4096)  # fewer images in the fixture: all of them
    assert x.shape == (64, 1, 28, 28) and y[:3].tolist() == [0, 1, 2]
    caltech = target_dataset("Caltech256", weights=torchvision.models.ResNet18_Weights.DEFAULT)
    assert dataset_labels(caltech).bincount().tolist() == [42] * len(fixtures.CALTECH_CLASSES)
    train_x, _, test_x, test_y = split_tensors(caltech, train_per_class=30, test_per_class=10)
    assert train_x.shape[1:] == (3, 224, 224) and test_y.bincount().tolist() == [10, 10]
    voc = voc_subset(root, n=200)
    assert len(voc) == 4 and voc[1][1]["boxes"].shape == (1, 4)  # the difficult box is dropped
    seg = data.full_profile_dataset(torchvision.datasets.VOCSegmentation, year="2012", image_set="val")
    image, mask = seg[0]
    assert set(np.unique(np.asarray(mask)).tolist()) == {0, 1, 255}
    assert image.size == mask.size
    pairs = faces_pretrained.lfw_pairs(transform=faces_pretrained.lfw_transform(32))
    assert len(pairs) == 20 and pairs.folds.tolist() == (torch.arange(20) // 2).tolist()
    _, labels, names = faces_pretrained.lfw_people(exclude={n for p in pairs.pair_names for n in p})
    assert len(names) == 70 and labels.bincount().tolist() == [4] * 20 + [2] * 50
    assert _events(tmp_path) == []  # nothing tried the network


def test_pretrained_builds_untrained_models_with_the_weights_shapes(smoke_env, tmp_path):
    from torchvision.models import ResNet18_Weights, resnet18
    from torchvision.models.detection import KeypointRCNN_ResNet50_FPN_Weights, keypointrcnn_resnet50_fpn
    from torchvision.models.segmentation import FCN_ResNet50_Weights, fcn_resnet50

    net = data.pretrained(resnet18, weights=ResNet18_Weights.DEFAULT)
    assert net.fc.out_features == 1000
    fcn = data.pretrained(fcn_resnet50, weights=FCN_ResNet50_Weights.DEFAULT)
    assert fcn.aux_classifier is not None and fcn.classifier[-1].out_channels == 21
    kp = data.pretrained(keypointrcnn_resnet50_fpn, weights=KeypointRCNN_ResNet50_FPN_Weights.DEFAULT)
    assert kp.roi_heads.keypoint_predictor.kps_score_lowres.out_channels == 17
    assert kp.transform.min_size == (224,)  # resized small for a CPU
    assert not (tmp_path / "torch").exists()  # nothing downloaded (and the guard saw nothing)
    assert _events(tmp_path) == []


def test_fit_takes_two_steps_per_epoch_in_smoke_mode(smoke_env):
    x, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    model = torch.nn.Linear(3, 2)
    loss = lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1])  # noqa: E731
    history = fit(model, RandomBatches(x, y, batch_size=4, steps=10, seed=0), epochs=3, lr=0.1, loss_fn=loss)
    assert len(history.batch_loss) == 3 * smoke.SMOKE_STEPS
    smoke.deactivate()
    history = fit(model, RandomBatches(x, y, batch_size=4, steps=10, seed=0), epochs=1, lr=0.1, loss_fn=loss)
    assert len(history.batch_loss) == 10


def test_pick_smoke_overrides_only_in_smoke_mode(smoke_env):
    sizes = dict(quick=dict(n=1, name="a"), full=dict(n=100, name="b"), smoke=dict(n=2))
    assert vars(smoke_env.pick(**sizes)) == {"n": 2, "name": "b"}
    assert vars(smoke_env.pick(quick=sizes["quick"], full=sizes["full"])) == {"n": 100, "name": "b"}
    with pytest.raises(ValueError, match="unknown"):
        smoke_env.pick(quick=dict(n=1), full=dict(n=2), smoke=dict(m=3))
    with pytest.raises(TypeError, match="smoke must be a dict"):
        smoke_env.pick(quick=dict(n=1), full=dict(n=2), smoke=[("n", 3)])
    smoke.deactivate()
    assert vars(smoke_env.pick(**sizes)) == {"n": 100, "name": "b"}  # the real full profile


def _run(source: str, namespace: dict) -> None:
    tree = smoke.FloorsToReports().visit(ast.parse(source))
    exec(compile(tree, "<cell>", "exec"), namespace)


def test_failing_floors_are_reported_other_asserts_still_raise(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LECTURE_SMOKE_LOG", str(tmp_path / "smoke.log"))
    _run("acc = 0.1\nassert acc >= 0.98, acc\nassert 0.5 < acc or acc > 0.9", {})
    out = capsys.readouterr().out
    assert out.count("smoke mode: quality floor not applied") == 2 and "assert acc >= 0.98" in out
    assert [e["detail"] for e in _events(tmp_path)] == ["acc >= 0.98", "0.5 < acc or acc > 0.9"]
    _run("acc = 0.99\nassert acc >= 0.98", {})  # a floor that holds says nothing
    assert capsys.readouterr().out == ""
    with pytest.raises(AssertionError):
        _run("assert [1, 2] == [1, 3]", {})  # correctness checks are not floors
    with pytest.raises(AssertionError):
        _run("import torch\nassert torch.allclose(torch.zeros(2), torch.ones(2))", {})
    with pytest.raises(ZeroDivisionError):
        _run("assert 1 / 0 > 1", {})  # a floor whose condition fails to compute still raises
