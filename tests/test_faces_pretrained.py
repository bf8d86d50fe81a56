"""faces.pretrained offline: a tiny fixture in LFW's folder layout, served by file:// URLs."""

import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from lecture_lib.data import OfflineError, sha256_file
from lecture_lib.faces import embed, pretrained

PEOPLE = {
    "Ada_Lovelace": 3,
    "Alan_Turing": 2,
    "Grace_Hopper": 2,
    "Kurt_Goedel": 1,
    **{f"Person_{k}": 2 for k in range(6)},
}


def _fixture(tmp_path):
    """An lfw-funneled.tgz with 250x250 jpgs and a 10-fold pairs.txt (1 same + 1 different per fold)."""
    src = tmp_path / "src" / "lfw_funneled"
    rng = np.random.default_rng(0)
    for name, n in PEOPLE.items():
        (src / name).mkdir(parents=True)
        for k in range(1, n + 1):
            Image.fromarray(rng.integers(0, 255, (250, 250, 3), dtype=np.uint8)).save(
                src / name / f"{name}_{k:04d}.jpg"
            )
    lines = ["10\t1"]
    for _ in range(10):
        lines += ["Ada_Lovelace\t1\t2", "Alan_Turing\t1\tGrace_Hopper\t2"]
    pairs = tmp_path / "src" / "pairs.txt"
    pairs.write_text("\n".join(lines) + "\n")
    archive = tmp_path / "src" / "lfw-funneled.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname="lfw_funneled")
    return {
        "lfw-funneled.tgz": (archive.as_uri(), sha256_file(archive)),
        "pairs.txt": (pairs.as_uri(), sha256_file(pairs)),
    }


def test_lfw_pairs_download_verify_extract_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "LFW_FILES", _fixture(tmp_path))
    ds = pretrained.lfw_pairs(tmp_path / "root", transform=pretrained.lfw_transform(32))
    assert len(ds) == 20 and ds.targets[:2] == [1, 0]
    assert torch.equal(ds.folds, torch.arange(20) // 2)
    a, b, same = ds[0]
    assert a.shape == b.shape == (3, 32, 32) and same == 1
    assert pretrained.lfw_pairs(tmp_path / "root") is not None  # second call: already there, verified
    paths, labels, names = pretrained.lfw_people(tmp_path / "root", exclude={"Alan_Turing"})
    assert names[:2] == ["Ada_Lovelace", "Grace_Hopper"] and len(names) == 8 and "Kurt_Goedel" not in names
    assert labels[:5].tolist() == [0, 0, 0, 1, 1] and len(paths) == 17
    x = pretrained.load_images(paths[:5], pretrained.lfw_transform(32))
    assert x.shape == (5, 3, 32, 32)
    model = pretrained.resnet_face(weights=None, embedding_dim=8)
    d, same, folds = pretrained.lfw_pair_distances(model, ds, batch_size=8)
    assert d.shape == (20,) and same.tolist() == [True, False] * 10 and torch.equal(folds, ds.folds)
    e = embed(model, torch.stack([ds[0][0], ds[0][1]]))
    torch.testing.assert_close(d[0], (e[0] - e[1]).pow(2).sum(), rtol=1e-4, atol=1e-5)


def test_lfw_pairs_wrong_checksum_names_it_and_the_manual_way(tmp_path, monkeypatch):
    files = _fixture(tmp_path)
    files["pairs.txt"] = (files["pairs.txt"][0], "0" * 64)
    monkeypatch.setattr(pretrained, "LFW_FILES", files)
    with pytest.raises(ValueError, match=r"SHA-256 .* expected 0000.*By hand: place lfw-funneled.tgz"):
        pretrained.lfw_pairs(tmp_path / "root")


def test_lfw_pairs_unreachable_host_is_offline_error(tmp_path, monkeypatch):
    files = {k: ((tmp_path / "missing" / k).as_uri(), v[1]) for k, v in pretrained.LFW_FILES.items()}
    monkeypatch.setattr(pretrained, "LFW_FILES", files)
    with pytest.raises(OfflineError, match="Could not get LFWPairs.*By hand: place lfw-funneled.tgz"):
        pretrained.lfw_pairs(tmp_path / "root")


@pytest.mark.parametrize("num_classes", [None, 5])
def test_resnet_face_offline(num_classes):
    model = pretrained.resnet_face(weights=None, embedding_dim=16, num_classes=num_classes).eval()
    x = torch.randn(2, 3, 64, 64)
    out = model(x)
    assert out.shape == ((2, 16) if num_classes is None else (2, 5))
    e = embed(model, x)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(2))


@pytest.mark.parametrize("weights, error", [(True, TypeError), ("IMAGENET1K_V9", ValueError)])
def test_resnet_face_bad_weights(weights, error):
    with pytest.raises(error, match=r"weights must be 'DEFAULT', None or one of \['IMAGENET1K_V1'\]"):
        pretrained.resnet_face(weights=weights)


@pytest.mark.parametrize("method", ["softmax", "semi-hard"])
def test_lfw_finetune_offline_on_fixture(tmp_path, monkeypatch, method):
    monkeypatch.setattr(pretrained, "LFW_FILES", _fixture(tmp_path))
    ds = pretrained.lfw_pairs(tmp_path / "root", transform=pretrained.lfw_transform(32))
    # people in no pair with >= 2 images: the six Person_k; four of them validate
    model, hist = pretrained.lfw_finetune(
        method, ds, root=tmp_path / "root", size=32, steps=4, val_people=4, P=2, K=2, weights=None
    )
    assert len(hist.batch_loss) == 4 and len(hist.metrics["val_auc"]) == 4
    d, same, folds = pretrained.lfw_pair_distances(model, ds)
    assert d.shape == (20,) and torch.isfinite(d).all()


def test_photo_tensor_crops_and_resizes():
    img = np.zeros((40, 60, 3), dtype=np.uint8)
    img[:, 10:50] = 255  # the centre 40x40 square is white
    x = pretrained.photo_tensor(img, 16, imagenet=False)
    assert x.shape == (3, 16, 16) and torch.allclose(x, torch.ones(3, 16, 16))
    y = pretrained.photo_tensor(img, 16)
    torch.testing.assert_close(y[0], torch.full((16, 16), (1 - 0.485) / 0.229))
