"""One test per finding of the input-guard audit (issue 24): each bad or edge input gets a clear
``ValueError``/``TypeError`` naming the argument, or the correct result."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import tarfile
import time
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from lecture_lib import boxes as B
from lecture_lib import checkpoints, data
from lecture_lib.datasets.scenes import make_scenes
from lecture_lib.detection.fast_rcnn import FastRCNN
from lecture_lib.detection.faster_rcnn import FasterRCNN
from lecture_lib.detection.matching import match, sample
from lecture_lib.detection.rcnn import RCNN
from lecture_lib.detection.roi_heads import fastrcnn_loss
from lecture_lib.detection.rpn import RegionProposalNetwork
from lecture_lib.embeddings.sgns import sgns_loss
from lecture_lib.embeddings.words import analogy, nearest
from lecture_lib.faces import triplets
from lecture_lib.faces.models import FaceEmbedder, pair_distances
from lecture_lib.io import load_image
from lecture_lib.metrics.detection import bootstrap_map, detection_ap, precision_recall_curve
from lecture_lib.metrics.segmentation import confusion_matrix
from lecture_lib.pose.heatmaps import heatmaps_to_keypoints
from lecture_lib.pose.metrics import correct_keypoints
from lecture_lib.segmentation.pretrained import pair_to_tensors
from lecture_lib.train import RandomBatches, fit

NAN = float("nan")


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


# --- a crash -------------------------------------------------------------------------------------

_CRASH = """
import math, torch
from lecture_lib.detection.fast_rcnn import FastRCNN
m = FastRCNN(3)
for bad in (math.nan, math.inf):
    try:
        m.detect(torch.rand(1, 3, 64, 64), [torch.tensor([[bad, 0.0, 30.0, 30.0]])])
    except ValueError as exc:
        assert "must be finite" in str(exc), exc
    else:
        raise SystemExit("no error")
print("refused")
"""


def test_fast_rcnn_nan_proposals_refused_not_segfault():
    # in a subprocess: a regression would SIGSEGV inside torchvision's roi_align and kill pytest
    run = subprocess.run([sys.executable, "-c", _CRASH], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"rc={run.returncode}\n{run.stderr[-2000:]}"
    assert "refused" in run.stdout


def test_fast_rcnn_two_proposal_lists_for_one_image():
    with pytest.raises(
        ValueError, match=r"proposals_per_image must hold exactly one .* per image \(1\), got 2"
    ):
        FastRCNN(3).detect(torch.rand(1, 3, 64, 64), [t([[0, 0, 30, 30]])] * 2)


def test_fast_rcnn_proposals_far_outside_the_image():
    with pytest.raises(ValueError, match=r"within one image size"):
        FastRCNN(3).detect(torch.rand(1, 3, 64, 64), [t([[0, 0, 1e12, 30]])])


# --- hangs ---------------------------------------------------------------------------------------


def test_random_batches_huge_steps_first_batch_at_once():
    loader = RandomBatches(torch.rand(10, 2), torch.arange(10), batch_size=4, steps=10**9)
    start = time.perf_counter()
    x, y = next(iter(loader))
    assert time.perf_counter() - start < 1.0 and x.shape == (4, 2) and y.shape == (4,)


def test_random_batches_lazy_draws_equal_the_eager_ones():
    x, y = torch.rand(10, 2), torch.arange(10)
    got = torch.cat([b for _, b in RandomBatches(x, y, batch_size=4, steps=7, seed=3)])
    g = torch.Generator().manual_seed(3)
    eager = torch.cat([torch.randperm(10, generator=g) for _ in range(math.ceil(7 * 4 / 10))])[: 7 * 4]
    assert torch.equal(got, eager)


def test_make_scenes_max_clutter_capped():
    with pytest.raises(ValueError, match=r"max_clutter must be an int in \[0, 1000\], got 1000000"):
        make_scenes(1, seed=0, max_clutter=10**6)


# --- silent wrong or NaN results -----------------------------------------------------------------


def test_decode_float_proposals_int_deltas_stay_float():
    out = B.decode(t([[0.5, 0.5, 10.5, 10.5]]), torch.zeros(1, 4, dtype=torch.int64))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, t([[0.5, 0.5, 10.5, 10.5]]))


def test_match_nan_iou_refused():
    with pytest.raises(ValueError, match=r"iou must be finite"):
        match(t([[NAN, 0.9]]), high=0.5, low=0.3)


def test_heatmaps_to_keypoints_nan_pixel_refused():
    maps = torch.zeros(1, 5, 5)
    maps[0, 2, 3], maps[0, 4, 4] = 1.0, NAN
    with pytest.raises(ValueError, match=r"heatmaps must be finite"):
        heatmaps_to_keypoints(maps)


def _tiff(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode="F").save(buf, "TIFF")
    return buf.getvalue()


def test_load_image_float_tiff_with_nan_refused():
    arr = np.ones((8, 8), np.float32)
    arr[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN or infinite pixel"):
        load_image(_tiff(arr))


def test_load_image_ambiguous_3x4x4_array():
    arr = np.random.default_rng(0).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"\(3, 4, 4\) could be \[H, W, C\] or \[C, H, W\]"):
        load_image(arr)
    assert load_image(arr, layout="CHW").shape == (4, 4, 3)  # the documented layout, when named
    np.testing.assert_array_equal(load_image(arr, layout="CHW"), np.moveaxis(arr, 0, -1))


def test_pair_to_tensors_float_and_uint16_scaled_not_zeroed_or_wrapped():
    img = np.full((4, 5, 3), 0.5, dtype=np.float32)
    torch.testing.assert_close(pair_to_tensors(img)[0], torch.full((3, 4, 5), 128 / 255))
    img16 = np.full((4, 5, 3), 32768, dtype=np.uint16)  # wrapped to uint8 this was 0
    torch.testing.assert_close(pair_to_tensors(img16)[0], torch.full((3, 4, 5), 127 / 255))
    with pytest.raises(ValueError, match=r"float image must hold values in \[0, 1\]"):
        pair_to_tensors(np.full((4, 5, 3), 2.0, dtype=np.float32))


def test_correct_keypoints_shape_checked():
    with pytest.raises(ValueError, match=r"target must have shape \(N, K, 2\) with N=2, K=3"):
        correct_keypoints(torch.zeros(2, 3, 2), torch.zeros(1, 3, 2), 0.2, torch.ones(2))
    with pytest.raises(ValueError, match=r"normalize must have shape \(N,\) with N=2"):
        correct_keypoints(torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), 0.2, torch.ones(3))


def _one_image():
    pred = [
        {
            "boxes": t([[0, 0, 10, 10], [20, 20, 30, 30]]),
            "scores": t([0.9, 0.8]),
            "labels": torch.tensor([1, 1]),
        }
    ]
    target = [{"boxes": t([[0, 0, 10, 10], [20, 20, 30, 30]]), "labels": torch.tensor([1, 1])}]
    return pred, target


def test_negative_max_detections_refused():
    pred, target = _one_image()
    assert detection_ap(pred, target)["map"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"max_detections must be a positive int, got -1"):
        detection_ap(pred, target, max_detections=-1)
    with pytest.raises(ValueError, match=r"max_detections must be an int in \[1, inf\], got -1"):
        precision_recall_curve(pred, target, label=1, max_detections=-1)
    with pytest.raises(ValueError, match=r"max_detections must be an int in \[1, inf\], got -1"):
        bootstrap_map(pred, target, max_detections=-1, n_boot=5)


def test_negative_max_det_refused():
    model = RCNN(num_classes=3)
    with pytest.raises(ValueError, match=r"max_det must be an int in \[0, inf\], got -1"):
        model.detect(torch.rand(3, 32, 32), t([[0, 0, 10, 10]]), max_det=-1)


def test_negative_num_refused():
    with pytest.raises(ValueError, match=r"num must be an int in \[0, inf\], got -2"):
        sample(torch.tensor([0, -1, -1]), num=-2, positive_fraction=0.5)


def test_rpn_built_for_8x8_refuses_4x4_maps():
    rpn = RegionProposalNetwork(8, (8, 8), 8, anchor_sizes=(16,), aspect_ratios=(1.0,))
    with pytest.raises(ValueError, match=r"anchors were built for 8x8 feature maps, got \(1, 8, 4, 4\)"):
        rpn.propose(torch.rand(1, 8, 4, 4), (32, 32))


def test_clip_boxes_refuses_k_by_5():
    with pytest.raises(ValueError, match=r"boxes must have shape \(\.\.\., 4\), got \(2, 5\)"):
        B.clip_boxes(torch.zeros(2, 5), (10, 10))


def test_batched_nms_nan_label_refused():
    with pytest.raises(ValueError, match=r"labels must be finite"):
        B.batched_nms(t([[0, 0, 1, 1], [5, 5, 6, 6]]), t([0.9, 0.8]), t([0, NAN]), 0.5)


def test_detection_ap_label_1_7_refused():
    pred, target = _one_image()
    target[0]["labels"] = t([1.7, 1.0])
    with pytest.raises(ValueError, match=r"targets\[0\]\['labels'\] must be whole class numbers, got 1.7"):
        detection_ap(pred, target)


def test_negative_indices_refused():
    with pytest.raises(ValueError, match=r"i must hold row indices in 0..2"):
        pair_distances(torch.rand(3, 4), torch.tensor([-1]), torch.tensor([0]))


def test_nearest_and_analogy_nan_row_refused():
    vectors = torch.eye(5)
    vectors[4] = NAN
    with pytest.raises(ValueError, match=r"vectors must be finite.*first row 4"):
        nearest(vectors, torch.ones(5), 1)
    with pytest.raises(ValueError, match=r"vectors must be finite"):
        analogy(vectors, ["a", "b", "c", "d", "e"], "a", "b", "c")


def test_empty_batch_losses_are_zero_with_a_gradient():
    logits = torch.zeros(0, 3, requires_grad=True)
    deltas = torch.zeros(0, 3, 4, requires_grad=True)
    losses = fastrcnn_loss(logits, deltas, torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4))
    assert all(v.item() == 0.0 and v.requires_grad for v in losses.values())
    anchor = torch.zeros(0, 8, requires_grad=True)
    loss = triplets.triplet_loss(anchor, torch.zeros(0, 8), torch.zeros(0, 8))
    loss.backward()
    assert loss.item() == 0.0 and anchor.grad is not None
    centre = torch.zeros(0, 8, requires_grad=True)
    loss = sgns_loss(centre, torch.zeros(0, 8), torch.zeros(0, 5, 8))
    loss.backward()
    assert loss.item() == 0.0 and centre.grad is not None


def test_fit_does_not_blame_the_lr_for_an_empty_batch():
    model = torch.nn.Linear(2, 2)

    def nan_on_empty(m, batch):
        return torch.nn.functional.cross_entropy(m(batch[0]), batch[1])  # mean of nothing: nan

    loader = [(torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64))]
    with pytest.raises(FloatingPointError, match=r"batch 0 is empty") as info:
        fit(model, loader, epochs=1, loss_fn=nan_on_empty, progress=False)
    assert "smaller lr" not in str(info.value)


def test_nms_nan_threshold_refused():
    with pytest.raises(ValueError, match=r"iou_threshold must be a finite number, got nan"):
        B.nms(t([[0, 0, 1, 1]]), t([1.0]), NAN)


def test_face_embedder_negative_image_size_refused():
    with pytest.raises(ValueError, match=r"image_size must be an int in \[8, inf\], got -8"):
        FaceEmbedder(image_size=-8)


def test_zip_bomb_refused_before_extraction(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.bin", "w") as fh:  # 16 MiB of zeros: ~16 KiB on disk
            for _ in range(16):
                fh.write(bytes(1 << 20))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ValueError, match=r"bomb.zip: its members add up to 16,777,216 bytes.*ratio"):
        data.extract_archive(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- a manifest trusted too far ------------------------------------------------------------------


def test_build_model_refuses_unregistered_lecture_lib_callables():
    entry = {"builder": "lecture_lib.data.extract_archive", "kwargs": {}, "state_dict": {}}
    with pytest.raises(ValueError, match=r"not a registered model builder"):
        checkpoints.build_model(entry)


def test_registered_builders_import_and_cover_the_committed_checkpoints():
    import importlib

    for path in checkpoints.BUILDERS:  # every registered name is a real class or function
        module, _, attr = path.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), path
    manifest = checkpoints.read_manifest()
    for name in manifest:
        ckpt = torch.load(checkpoints.data_dir() / name, map_location="cpu", weights_only=True)
        for v in ckpt.values():
            if isinstance(v, dict) and "builder" in v:
                assert v["builder"] in checkpoints.BUILDERS, (name, v["builder"])


def test_manifest_path_outside_data_refused(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (tmp_path / "x.pt").write_bytes(b"")
    entry = {"file": "../x.pt", "sha256": "0" * 64, "size": 0, "command": "-"}
    (folder / "MANIFEST.json").write_text(json.dumps({"files": [entry]}))
    with pytest.raises(ValueError, match=r"'\.\./x\.pt' resolves to .* outside"):
        checkpoints.load_checkpoint("../x.pt", folder=folder)


def test_upper_case_sha_in_manifest_accepted(tmp_path):
    entry = checkpoints.save_checkpoint({"a": 1}, "a.pt", command="-", folder=tmp_path)
    entry["sha256"] = entry["sha256"].upper()
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"files": [entry]}))
    assert checkpoints.load_checkpoint("a.pt", folder=tmp_path) == {"a": 1}
    assert data._check_sha256("AB" * 32) == "ab" * 32


# --- unhelpful errors ----------------------------------------------------------------------------


def test_lists_float_sizes_and_stride_zero_get_clear_errors():
    with pytest.raises(TypeError, match=r"boxes1 must be a torch.Tensor of shape \(N, 4\), got list"):
        B.box_iou([[0, 0, 1, 1]], t([[0, 0, 1, 1]]))
    with pytest.raises(TypeError, match=r"output_size must be an int, got float 2.5"):
        B.roi_pool(torch.rand(1, 1, 4, 4), t([[0, 0, 0, 2, 2]]), 2.5)
    with pytest.raises(TypeError, match=r"size\[0\] must be an int, got float"):
        B.clip_boxes(t([[0, 0, 1, 1]]), (10.5, 10))
    with pytest.raises(ValueError, match=r"stride must be an int in \[1, inf\], got 0"):
        FastRCNN(3).roi_head.__class__(8, 3, stride=0)


def test_broken_manifest_names_the_file(tmp_path):
    (tmp_path / "MANIFEST.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"MANIFEST.json is not a checkpoint manifest"):
        checkpoints.read_manifest(tmp_path)


def test_truncated_tar_gz_names_the_file(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(np.random.default_rng(0).bytes(200_000))
    archive = tmp_path / "data.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname="a.txt")
    archive.write_bytes(archive.read_bytes()[:50_000])
    with pytest.raises(ValueError, match=r"data.tar.gz is truncated or corrupt"):
        data.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("cut", [40, 200, 0.5])
def test_truncated_jpeg_is_a_value_error(cut):
    jpeg = _jpeg()
    n = int(len(jpeg) * cut) if isinstance(cut, float) else cut
    with pytest.raises(ValueError, match=r"uploaded data .* is (truncated or corrupt|not an image)"):
        load_image(jpeg[:n])


def test_upload_widget_catches_a_truncated_jpeg(monkeypatch, capsys):
    from lecture_lib import widgets

    monkeypatch.setattr(widgets, "widgets_live", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    got: list = []
    handler = widgets.image_upload(got.append).children[0]._trait_notifiers["value"]["change"][-1]
    handler({"new": ({"name": "cut.jpg", "content": memoryview(_jpeg()[:200])},)})
    assert got == [] and "Could not use cut.jpg" in capsys.readouterr().out


def test_valid_empty_inputs_work():
    xy, conf = heatmaps_to_keypoints(torch.zeros(0, 14, 8, 8))
    assert xy.shape == (0, 14, 2) and conf.shape == (0, 14)
    assert FasterRCNN(3, image_size=64).detect(torch.zeros(0, 3, 64, 64)) == []
    assert FastRCNN(3).detect(torch.zeros(0, 3, 64, 64), []) == []
    a, p, n = triplets.mine_triplets(torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), 0.2, "hard")
    assert a.shape == p.shape == n.shape == (0,)


def test_faster_rcnn_label_0_message():
    target = [{"boxes": t([[0, 0, 30, 30]]), "labels": torch.tensor([0])}]
    with pytest.raises(ValueError, match=r"labels'\] must be object classes in 1..2 \(0 is the background"):
        FasterRCNN(3, image_size=64).losses(torch.rand(1, 3, 64, 64), target)


def test_numpy_and_0d_tensor_numbers_accepted():
    pred = torch.tensor([[0, 1], [1, 1]])
    cm = confusion_matrix(pred[None], pred[None], np.int64(2))
    assert cm.tolist() == [[1, 0], [0, 3]]
    assert confusion_matrix(pred[None], pred[None], torch.tensor(2)).tolist() == cm.tolist()
    idx, _ = nearest(torch.eye(3), torch.tensor([1.0, 0, 0]), np.int64(1))
    assert idx.tolist() == [0]


# --- no size guards ------------------------------------------------------------------------------


def test_pairwise_distances_chunked_equal_the_unchunked(monkeypatch):
    x = torch.randn(50, 16, generator=torch.Generator().manual_seed(0))
    whole = triplets.pairwise_sq_distances(x)
    monkeypatch.setattr(triplets, "CHUNK_BYTES", 7 * 50 * 16 * 4)  # 7 rows at a time
    torch.testing.assert_close(triplets.pairwise_sq_distances(x), whole, rtol=0, atol=0)
    assert torch.all(torch.diagonal(whole) == 0)


@pytest.mark.parametrize("classes", [2, 5, 40])
def test_semi_hard_mining_equals_the_n_cubed_definition(monkeypatch, classes):
    g = torch.Generator().manual_seed(classes)
    x, labels = torch.randn(40, 8, generator=g), torch.randint(0, classes, (40,), generator=g)
    d = triplets.pairwise_sq_distances(x)  # the (N, N, N) definition, as FaceNet Eq. 4 reads
    same = labels[:, None] == labels[None, :]
    ok = (same & ~torch.eye(40, dtype=torch.bool))[:, :, None] & ~same[:, None, :]
    ok &= (d[:, None, :] > d[:, :, None]) & (d[:, None, :] < d[:, :, None] + 1.0)
    expected = torch.where(ok)
    for chunk in (triplets.CHUNK_BYTES, 3 * 40 * 4):  # whole, and 3 pairs at a time
        monkeypatch.setattr(triplets, "CHUNK_BYTES", chunk)
        got = triplets.mine_triplets(x, labels, 1.0, "semi-hard")
        assert all(torch.equal(a, b) for a, b in zip(got, expected)) and got[0].numel() > 0


def test_confusion_matrix_of_a_million_classes_refused():
    pred = torch.zeros(1, 2, 2, dtype=torch.int64)
    with pytest.raises(
        ValueError, match=r"confusion matrix of num_classes = 1000000 would need 7.45e\+03 GiB"
    ):
        confusion_matrix(pred, pred, 10**6)


def test_loaders_and_models_check_their_numbers():
    from lecture_lib.embeddings.sgns import SkipGram

    with pytest.raises(TypeError, match=r"x must be a torch.Tensor of shape \(N, \.\.\.\), got list"):
        triplets.PKBatches([[0.0]], torch.tensor([0]), P=2, K=2, steps=1)
    with pytest.raises(TypeError, match=r"K must be an int, got float 2.5"):
        triplets.PKBatches(torch.zeros(4, 2), torch.tensor([0, 0, 1, 1]), P=2, K=2.5, steps=1)
    assert (
        len(triplets.PKBatches(torch.zeros(4, 2), torch.tensor([0, 0, 1, 1]), P=2, K=np.int64(2), steps=3))
        == 3
    )
    with pytest.raises(ValueError, match=r"vocab_size must be an int in \[1, inf\], got 0"):
        SkipGram(0)


def test_nearest_accepts_a_0d_tensor_k():
    idx, _ = nearest(torch.eye(3), torch.tensor([1.0, 0, 0]), torch.tensor(1))
    assert idx.tolist() == [0]
