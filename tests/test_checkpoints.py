import json

import pytest
import torch

from lecture_lib import checkpoints


def test_save_and_load_roundtrip(tmp_path):
    obj = {"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "curve": [1.0, 0.5], "name": "toy"}
    entry = checkpoints.save_checkpoint(
        obj, "toy.pt", command="python tools/make_checkpoints.py toy", folder=tmp_path
    )
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert manifest["files"] == [entry]
    assert entry["sha256"] == checkpoints.sha256_file(tmp_path / "toy.pt")
    assert entry["size"] == (tmp_path / "toy.pt").stat().st_size
    loaded = checkpoints.load_checkpoint("toy.pt", folder=tmp_path)
    assert torch.equal(loaded["state_dict"]["w"], obj["state_dict"]["w"]) and loaded["curve"] == [1.0, 0.5]


def test_saving_is_reproducible(tmp_path):
    obj = {"w": torch.ones(3)}
    a = checkpoints.save_checkpoint(obj, "a.pt", command="x", folder=tmp_path)
    b = checkpoints.save_checkpoint(obj, "a.pt", command="x", folder=tmp_path)
    assert a["sha256"] == b["sha256"]
    assert [e["file"] for e in json.loads((tmp_path / "MANIFEST.json").read_text())["files"]] == ["a.pt"]


def test_tampered_file_refused(tmp_path):
    checkpoints.save_checkpoint({"w": torch.ones(3)}, "a.pt", command="make checkpoints", folder=tmp_path)
    with open(tmp_path / "a.pt", "ab") as fh:
        fh.write(b"garbage")
    with pytest.raises(ValueError, match=r"a\.pt has SHA-256 .*regenerate it with: make checkpoints"):
        checkpoints.load_checkpoint("a.pt", folder=tmp_path)


def test_unknown_name_and_bad_objects(tmp_path):
    checkpoints.save_checkpoint({"w": torch.ones(1)}, "a.pt", command="x", folder=tmp_path)
    with pytest.raises(ValueError, match=r"'b\.pt' is not in .*known: \['a\.pt'\]"):
        checkpoints.load_checkpoint("b.pt", folder=tmp_path)
    with pytest.raises(TypeError, match="must be a dict"):
        checkpoints.save_checkpoint([1], "c.pt", command="x", folder=tmp_path)
    with pytest.raises(ValueError, match="plain file name ending in .pt"):
        checkpoints.save_checkpoint({}, "../c.pt", command="x", folder=tmp_path)


class Evil:  # an arbitrary class: weights_only loading must refuse to unpickle it
    pass


def test_weights_only_refuses_arbitrary_objects(tmp_path):
    checkpoints.save_checkpoint({"obj": Evil()}, "evil.pt", command="x", folder=tmp_path)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported global"):
        checkpoints.load_checkpoint("evil.pt", folder=tmp_path)


def test_committed_manifest_matches_files():
    """Every checkpoint in data/ is listed with the right hash and size, and nothing unlisted is there."""
    folder = checkpoints.data_dir()
    manifest = checkpoints.read_manifest(folder)
    on_disk = {p.name for p in folder.glob("*.pt")}
    assert on_disk == set(manifest)
    for name, entry in manifest.items():
        assert checkpoints.sha256_file(folder / name) == entry["sha256"], name
        assert (folder / name).stat().st_size == entry["size"], name
        assert entry["command"].startswith("python tools/make_checkpoints.py ")


def test_missing_checkpoint_is_downloaded_and_verified(tmp_path, monkeypatch):
    src = tmp_path / "src"
    entry = checkpoints.save_checkpoint({"w": torch.ones(2)}, "a.pt", command="x", folder=src)
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "MANIFEST.json").write_text((src / "MANIFEST.json").read_text())
    monkeypatch.setattr(checkpoints, "checkpoint_url", lambda name: (src / name).as_uri())
    loaded = checkpoints.load_checkpoint("a.pt", folder=dst)
    assert (
        torch.equal(loaded["w"], torch.ones(2)) and checkpoints.sha256_file(dst / "a.pt") == entry["sha256"]
    )


def test_load_model_builds_loads_and_evals(tmp_path):
    from lecture_lib import checkpoints, layers

    torch.manual_seed(0)
    block = layers.ResidualBlock(4, 8, 2)
    ckpt = {
        "model": checkpoints.model_entry(
            layers.ResidualBlock, block, in_channels=4, out_channels=8, stride=2
        ),
        "note": "toy",
    }
    checkpoints.save_checkpoint(ckpt, "toy.pt", command="test", folder=tmp_path)
    loaded = checkpoints.load_model("toy.pt", folder=tmp_path)
    assert isinstance(loaded, layers.ResidualBlock) and not loaded.training
    x = torch.randn(1, 4, 8, 8)
    torch.testing.assert_close(loaded(x), block.eval()(x))
    with pytest.raises(ValueError, match=r"has no model entry 'fcn'; it has \['model'\]"):
        checkpoints.load_model("toy.pt", "fcn", folder=tmp_path)


def test_model_entry_refuses_foreign_builders():
    from lecture_lib import checkpoints

    with pytest.raises(ValueError, match="builder must be a top-level class or function of lecture_lib"):
        checkpoints.model_entry(torch.nn.Linear, torch.nn.Linear(2, 2), in_features=2, out_features=2)
    with pytest.raises(ValueError, match="only lecture_lib builders"):
        checkpoints.build_model({"builder": "os.system", "kwargs": {}, "state_dict": {}})
