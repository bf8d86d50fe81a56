"""lecture_lib.embeddings.celeba offline: a tiny fixture in CelebA's on-disk layout, the crop and
resize against PIL done by hand, the download path's single OfflineError, bad inputs."""

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from lecture_lib.data import OfflineError
from lecture_lib.embeddings import celeba

NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
PARTS = [0, 0, 0, 0, 1, 2]  # four train faces, one valid, one test


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    attr_lines = [str(len(PARTS)), " ".join(NAMES)]
    for i in range(1, len(PARTS) + 1):
        img = np.zeros((218, 178, 3), np.uint8)
        img[:20] = (255, 0, 0)  # above the face square: must be cropped away
        img[198:] = (0, 255, 0)  # below it
        img[20:198] = rng.integers(0, 256, 3)  # one colour per face
        Image.fromarray(img).save(folder / "img_align_celeba" / f"{i:06d}.jpg", quality=95)
        values = ["1" if (i + j) % 3 == 0 else "-1" for j in range(len(NAMES))]
        attr_lines.append(f"{i:06d}.jpg " + " ".join(values))
    (folder / "list_attr_celeba.txt").write_text("\n".join(attr_lines) + "\n")
    (folder / "list_eval_partition.txt").write_text(
        "".join(f"{i:06d}.jpg {p}\n" for i, p in enumerate(PARTS, start=1))
    )
    return tmp_path


def test_read_splits_and_attributes(root):
    faces = celeba.read_celeba(root / "celeba", split="train", size=16)
    assert len(faces) == 4 and faces.images.shape == (4, 3, 16, 16)
    assert faces.files == [f"{i:06d}.jpg" for i in range(1, 5)]
    assert set(faces.attributes) == set(NAMES)
    j = NAMES.index("Eyeglasses")
    assert faces.attributes["Eyeglasses"].tolist() == [(i + j) % 3 == 0 for i in range(1, 5)]
    assert len(celeba.read_celeba(root / "celeba", split="valid", size=8)) == 1
    assert len(celeba.read_celeba(root / "celeba", split="all", size=8, limit=5)) == 5


def test_crop_and_resize_match_pil(root):
    faces = celeba.read_celeba(root / "celeba", split="test", size=24, attributes=("Smiling",))
    with Image.open(root / "celeba" / "img_align_celeba" / "000006.jpg") as im:
        want = np.asarray(im.convert("RGB").crop((0, 20, 178, 198)).resize((24, 24), Image.BILINEAR))
    got = (faces.images[0].permute(1, 2, 0) * 255).round().byte().numpy()
    np.testing.assert_array_equal(got, want)
    # the red band above and the green band below the face square are gone
    assert (faces.images[0] - faces.images[0].mean(dim=(1, 2), keepdim=True)).abs().max() < 0.1
    assert list(faces.attributes) == ["Smiling"]


def test_read_bad_inputs(root, tmp_path):
    folder = root / "celeba"
    with pytest.raises(ValueError, match="split must be one of"):
        celeba.read_celeba(folder, split="val")
    with pytest.raises(ValueError, match=r"unknown CelebA attribute\(s\) \['Glasses'\]"):
        celeba.read_celeba(folder, attributes=("Glasses",))
    with pytest.raises(ValueError, match="size must be a positive int"):
        celeba.read_celeba(folder, size=0)
    with pytest.raises(ValueError, match="limit must be"):
        celeba.read_celeba(folder, limit=0)
    with pytest.raises(FileNotFoundError, match="list_attr_celeba.txt"):
        celeba.read_celeba(tmp_path / "nowhere")
    lines = (folder / "list_attr_celeba.txt").read_text().splitlines()
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines[:2] + [lines[2] + " 7"]) + "\n")
    with pytest.raises(ValueError, match="line 3: expected a file name and 40 values"):
        celeba.read_celeba(folder)


def test_load_offline_is_one_clear_error(root, monkeypatch):
    class CelebA:  # torchvision's name, so the hint is found; its __init__ fails as offline
        def __init__(self, **kwargs):
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")

    monkeypatch.setattr(torchvision.datasets, "CelebA", CelebA)
    with pytest.raises(OfflineError, match="CelebA Google-Drive folder"):
        celeba.load_celeba(root)


def test_load_reads_verified_files(root, monkeypatch):
    calls = []

    class Verified:  # stands in for torchvision's CelebA after its MD5 check passed
        def __init__(self, **kwargs):
            calls.append(kwargs)

    monkeypatch.setattr(torchvision.datasets, "CelebA", Verified)
    faces = celeba.load_celeba(root, split="train", size=8, limit=2)
    assert faces.images.shape == (2, 3, 8, 8) and set(faces.attributes) == {
        "Eyeglasses",
        "Smiling",
        "Blond_Hair",
    }
    # on disk already: the first, download=False attempt verifies and reads it
    assert calls == [{"root": str(root), "download": False, "split": "all", "target_type": "attr"}]


def test_torchvision_refuses_unverified_files(root):
    # the fixture's list files do not have CelebA's MD5s: torchvision's own check rejects them
    with pytest.raises(RuntimeError, match="not found or corrupted"):
        torchvision.datasets.CelebA(str(root), split="train", download=False)
    assert torch.is_tensor(celeba.read_celeba(root / "celeba", limit=1).images)
