"""Census of the inputs listed in issue 24: how does each one end?

Each input runs in its own forked process (a crash cannot take the census down) with a time
limit and a memory limit, and is classified as

- ``clear error``: ValueError/TypeError (FloatingPointError for ``fit``) whose message matches
  what a clear message for that input must say (the argument's name, what was expected);
- ``correct``: a value, and the right one (each case states how to check it);
- ``unhelpful error``: any other exception (a raw torch/NumPy/PIL error, a misleading message,
  or a valid input refused);
- ``silent wrong``: a value where none is right, or a wrong one;
- ``hang``: still running after the time limit;
- ``crash``: the process died from a signal (e.g. SIGSEGV).

Run it against any checkout of lecture_lib (the one on ``PYTHONPATH`` wins)::

    PYTHONPATH=/path/to/checkout python tools/benchmarks/guards_census.py [--timeout 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import signal
import tempfile
import textwrap
import time

import numpy as np  # noqa: F401  (imported once here: every forked case starts with them loaded)
import PIL.Image  # noqa: F401
import torch
import torchvision  # noqa: F401

OUTCOMES = ("clear error", "correct", "unhelpful error", "silent wrong", "hang", "crash")
MEMORY_LIMIT = 6 * 1024**3  # address space of each case: a "would need 8 GB" request fails, not swaps

PRELUDE = """
import io, json, math, os, sys, tarfile, tempfile, zipfile
from pathlib import Path
import numpy as np
import torch
from PIL import Image
nan, inf = math.nan, math.inf
tmp = Path(tempfile.mkdtemp())
def t(rows):
    return torch.tensor(rows, dtype=torch.float32)
def jpeg():
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()
def one_image():
    pred = [{"boxes": t([[0, 0, 10, 10], [20, 20, 30, 30]]), "scores": t([0.9, 0.8]),
             "labels": torch.tensor([1, 1])}]
    target = [{"boxes": t([[0, 0, 10, 10], [20, 20, 30, 30]]), "labels": torch.tensor([1, 1])}]
    return pred, target
"""

# name: (code that sets `out`, expression that is True iff `out` is right (None: no value is right),
#        regex a clear error message must match)
CASES: dict[str, tuple[str, str | None, str]] = {
    "FastRCNN.detect NaN proposal": (
        "from lecture_lib.detection.fast_rcnn import FastRCNN\n"
        "out = FastRCNN(3).detect(torch.rand(1, 3, 64, 64), [t([[nan, 0, 30, 30]])])",
        None,
        r"finite",
    ),
    "FastRCNN.detect inf proposal": (
        "from lecture_lib.detection.fast_rcnn import FastRCNN\n"
        "out = FastRCNN(3).detect(torch.rand(1, 3, 64, 64), [t([[0, 0, inf, 30]])])",
        None,
        r"finite",
    ),
    "FastRCNN.detect two proposal lists, one image": (
        "from lecture_lib.detection.fast_rcnn import FastRCNN\n"
        "out = FastRCNN(3).detect(torch.rand(1, 3, 64, 64), [t([[0, 0, 30, 30]])] * 2)",
        None,
        r"one .* per image",
    ),
    "FastRCNN.detect proposals as a Tensor, not a list": (
        "from lecture_lib.detection.fast_rcnn import FastRCNN\n"
        "out = FastRCNN(3).detect(torch.rand(1, 3, 64, 64), t([[0, 0, 30, 30]]))",
        None,
        r"must be a list",
    ),
    "RandomBatches steps=10**9": (
        "from lecture_lib.train import RandomBatches\n"
        "out = next(iter(RandomBatches(torch.rand(10, 2), torch.arange(10), batch_size=4, steps=10**9)))",
        "out[0].shape == (4, 2)",
        r"steps",
    ),
    "make_scenes max_clutter=10**6": (
        "from lecture_lib.datasets.scenes import make_scenes\n"
        "out = make_scenes(1, seed=0, max_clutter=10**6)",
        None,
        r"max_clutter",
    ),
    "decode float proposals, int deltas": (
        "from lecture_lib.boxes import decode\n"
        "out = decode(t([[0.5, 0.5, 10.5, 10.5]]), torch.zeros(1, 4, dtype=torch.int64))",
        "out.is_floating_point() and torch.allclose(out, t([[0.5, 0.5, 10.5, 10.5]]))",
        r"deltas",
    ),
    "match with a NaN IoU": (
        "from lecture_lib.detection.matching import match\nout = match(t([[nan, 0.9]]), high=0.5, low=0.3)",
        "out[0].item() < 0",
        r"iou must be finite",
    ),
    "heatmaps_to_keypoints one NaN pixel": (
        "from lecture_lib.pose.heatmaps import heatmaps_to_keypoints\n"
        "maps = torch.zeros(1, 5, 5); maps[0, 2, 3] = 1.0; maps[0, 4, 4] = nan\n"
        "out = heatmaps_to_keypoints(maps, subpixel=False)[0]",
        "out[0].tolist() == [3.0, 2.0]",
        r"heatmaps must be finite",
    ),
    "load_image float TIFF with a NaN": (
        "from lecture_lib.io import load_image\n"
        "a = np.ones((8, 8), np.float32); a[0, 0] = np.nan; buf = io.BytesIO()\n"
        "Image.fromarray(a, mode='F').save(buf, 'TIFF'); out = load_image(buf.getvalue())",
        None,
        r"NaN",
    ),
    "load_image (3, 4, 4) array": (
        "from lecture_lib.io import load_image\n"
        "out = load_image(np.random.default_rng(0).integers(0, 256, (3, 4, 4), dtype=np.uint8))",
        "out.shape == (4, 4, 3)",
        r"\(3, 4, 4\).*layout",
    ),
    "pair_to_tensors float image": (
        "from lecture_lib.segmentation.pretrained import pair_to_tensors\n"
        "out = pair_to_tensors(np.full((4, 5, 3), 0.5, np.float32))[0]",
        "torch.allclose(out, torch.full((3, 4, 5), 128 / 255))",
        r"image",
    ),
    "pair_to_tensors uint16 image": (
        "from lecture_lib.segmentation.pretrained import pair_to_tensors\n"
        "out = pair_to_tensors(np.full((4, 5, 3), 32768, np.uint16))[0]",
        "torch.allclose(out, torch.full((3, 4, 5), 127 / 255))",  # 32768 * 255 // 65535 = 127
        r"image",
    ),
    "correct_keypoints mismatched shapes": (
        "from lecture_lib.pose.metrics import correct_keypoints\n"
        "out = correct_keypoints(torch.zeros(2, 3, 2), torch.zeros(1, 3, 2), 0.2, torch.ones(3))",
        None,
        r"(target|normalize) must have shape",
    ),
    "precision_recall_curve max_detections=-1": (
        "from lecture_lib.metrics.detection import precision_recall_curve\n"
        "out = precision_recall_curve(*one_image(), label=1, max_detections=-1)",
        None,
        r"max_detections",
    ),
    "bootstrap_map max_detections=-1": (
        "from lecture_lib.metrics.detection import bootstrap_map\n"
        "out = bootstrap_map(*one_image(), max_detections=-1, n_boot=10)",
        None,
        r"max_detections",
    ),
    "RCNN.detect max_det=-1": (
        "from lecture_lib.detection.rcnn import RCNN\n"
        "out = RCNN(num_classes=3).detect(torch.rand(3, 32, 32), t([[0, 0, 10, 10]]), max_det=-1)",
        None,
        r"max_det",
    ),
    "sample num=-2": (
        "from lecture_lib.detection.matching import sample\n"
        "out = sample(torch.tensor([0, -1, -1]), num=-2, positive_fraction=0.5)",
        None,
        r"num",
    ),
    "RPN built for 8x8 maps, given 4x4": (
        "from lecture_lib.detection.rpn import RegionProposalNetwork\n"
        "rpn = RegionProposalNetwork(8, (8, 8), 8, anchor_sizes=(16,), aspect_ratios=(1.0,))\n"
        "out = rpn.propose(torch.rand(1, 8, 4, 4), (32, 32))",
        None,
        r"anchors were built for 8x8",
    ),
    "clip_boxes Tensor[K, 5]": (
        "from lecture_lib.boxes import clip_boxes\nout = clip_boxes(torch.zeros(2, 5), (10, 10))",
        None,
        r"boxes must have shape",
    ),
    "batched_nms NaN label": (
        "from lecture_lib.boxes import batched_nms\n"
        "out = batched_nms(t([[0, 0, 1, 1], [5, 5, 6, 6]]), t([0.9, 0.8]), t([0, nan]), 0.5)",
        "len(out) == 2",
        r"labels must be finite",
    ),
    "detection_ap label 1.7": (
        "from lecture_lib.metrics.detection import detection_ap\n"
        "pred, target = one_image(); target[0]['labels'] = t([1.7, 1.0]); out = detection_ap(pred, target)",
        None,
        r"whole class numbers.*1\.7",
    ),
    "pair_distances negative index": (
        "from lecture_lib.faces.models import pair_distances\n"
        "out = pair_distances(torch.rand(3, 4), torch.tensor([-1]), torch.tensor([0]))",
        None,
        r"row indices",
    ),
    "nearest with a NaN row": (
        "from lecture_lib.embeddings.words import nearest\n"
        "v = torch.eye(5); v[4] = nan; out = nearest(v, torch.ones(5), 1)",
        "out[0].item() != 4 and bool(torch.isfinite(out[1]).all())",
        r"vectors must be finite",
    ),
    "analogy with a NaN row": (
        "from lecture_lib.embeddings.words import analogy\n"
        "v = torch.eye(5); v[4] = nan; out = analogy(v, list('abcde'), 'a', 'b', 'c')",
        "out[0][0] != 'e' and math.isfinite(out[0][1])",
        r"vectors must be finite",
    ),
    "fastrcnn_loss empty batch": (
        "from lecture_lib.detection.roi_heads import fastrcnn_loss\n"
        "out = fastrcnn_loss(torch.zeros(0, 3, requires_grad=True), torch.zeros(0, 3, 4, requires_grad=True),"
        " torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4))",
        "all(v.item() == 0 and v.requires_grad for v in out.values())",
        r"empty",
    ),
    "triplet_loss empty batch": (
        "from lecture_lib.faces.triplets import triplet_loss\n"
        "out = triplet_loss(torch.zeros(0, 8, requires_grad=True), torch.zeros(0, 8), torch.zeros(0, 8))",
        "out.item() == 0 and out.requires_grad",
        r"empty",
    ),
    "sgns_loss empty batch": (
        "from lecture_lib.embeddings.sgns import sgns_loss\n"
        "out = sgns_loss(torch.zeros(0, 8, requires_grad=True), torch.zeros(0, 8), torch.zeros(0, 5, 8))",
        "out.item() == 0 and out.requires_grad",
        r"empty",
    ),
    "fit on an empty batch": (
        "from lecture_lib.train import fit\n"
        "out = fit(torch.nn.Linear(2, 2), [(torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64))],"
        " epochs=1, progress=False)",
        None,
        r"batch 0 is empty",
    ),
    "nms iou_threshold=nan": (
        "from lecture_lib.boxes import nms\nout = nms(t([[0, 0, 1, 1], [0, 0, 1, 1]]), t([1.0, 0.5]), nan)",
        None,
        r"iou_threshold",
    ),
    "FaceEmbedder(image_size=-8)": (
        "from lecture_lib.faces.models import FaceEmbedder\nout = FaceEmbedder(image_size=-8)",
        None,
        r"image_size",
    ),
    "extract_archive zip bomb (64 MiB of zeros)": (
        "from lecture_lib.data import extract_archive\n"
        "bomb = tmp / 'bomb.zip'\n"
        "with zipfile.ZipFile(bomb, 'w', compression=zipfile.ZIP_DEFLATED) as zf:\n"
        "    with zf.open('zeros.bin', 'w') as fh:\n"
        "        for _ in range(64): fh.write(bytes(1 << 20))\n"
        "out = extract_archive(bomb, tmp / 'out')",
        None,
        r"bomb|ratio",
    ),
    "build_model of an unregistered lecture_lib callable": (
        "from lecture_lib import checkpoints\n"
        "src = tmp / 'a.zip'\n"
        "with zipfile.ZipFile(src, 'w') as zf: zf.writestr('x.txt', 'x')\n"
        "entry = {'builder': 'lecture_lib.data.extract_archive',"
        " 'kwargs': {'archive': str(src), 'dest': str(tmp / 'ran')}, 'state_dict': {}}\n"
        "err = None\n"
        "try:\n    checkpoints.build_model(entry)\nexcept Exception as exc:\n    err = exc\n"
        "if (tmp / 'ran').exists():\n    out = 'the manifest ran extract_archive'\nelse:\n    raise err",
        None,
        r"regist",
    ),
    "load_checkpoint '../x.pt'": (
        "from lecture_lib import checkpoints\n"
        "folder = tmp / 'data'; folder.mkdir(); torch.save({'a': 1}, tmp / 'x.pt')\n"
        "import hashlib; sha = hashlib.sha256((tmp / 'x.pt').read_bytes()).hexdigest()\n"
        "entry = {'file': '../x.pt', 'sha256': sha, 'size': 1, 'command': '-'}\n"
        "(folder / 'MANIFEST.json').write_text(json.dumps({'files': [entry]}))\n"
        "out = checkpoints.load_checkpoint('../x.pt', folder=folder)",
        None,
        r"outside",
    ),
    "broken MANIFEST.json": (
        "from lecture_lib import checkpoints\n"
        "(tmp / 'MANIFEST.json').write_text('{not json'); out = checkpoints.read_manifest(tmp)",
        None,
        r"MANIFEST\.json",
    ),
    "extract_archive truncated .tar.gz": (
        "from lecture_lib.data import extract_archive\n"
        "(tmp / 'a.bin').write_bytes(np.random.default_rng(0).bytes(200_000))\n"
        "with tarfile.open(tmp / 'd.tar.gz', 'w:gz') as tf: tf.add(tmp / 'a.bin', arcname='a.bin')\n"
        "(tmp / 'd.tar.gz').write_bytes((tmp / 'd.tar.gz').read_bytes()[:50_000])\n"
        "out = extract_archive(tmp / 'd.tar.gz', tmp / 'out')",
        None,
        r"d\.tar\.gz",
    ),
    "load_image truncated JPEG": (
        "from lecture_lib.io import load_image\nout = load_image(jpeg()[:200])",
        None,
        r"uploaded data",
    ),
    "upload widget, truncated JPEG": (
        "import contextlib, IPython.display\nfrom lecture_lib import widgets\n"
        "widgets.widgets_live = lambda: True; IPython.display.display = lambda *a, **k: None\n"
        "got = []; box = widgets.image_upload(got.append)\n"
        "handler = box.children[0]._trait_notifiers['value']['change'][-1]\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    handler({'new': ({'name': 'cut.jpg', 'content': memoryview(jpeg()[:200])},)})\n"
        "out = buf.getvalue()",
        "'Could not use cut.jpg' in out",
        r"cut\.jpg",
    ),
    "heatmaps_to_keypoints of 0 images": (
        "from lecture_lib.pose.heatmaps import heatmaps_to_keypoints\n"
        "out = heatmaps_to_keypoints(torch.zeros(0, 14, 8, 8))",
        "out[0].shape == (0, 14, 2) and out[1].shape == (0, 14)",
        r"$^",
    ),
    "FasterRCNN.detect of 0 images": (
        "from lecture_lib.detection.faster_rcnn import FasterRCNN\n"
        "out = FasterRCNN(3, image_size=64).detect(torch.zeros(0, 3, 64, 64))",
        "out == []",
        r"$^",
    ),
    "mine_triplets('hard') with N = 0": (
        "from lecture_lib.faces.triplets import mine_triplets\n"
        "out = mine_triplets(torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), 0.2, 'hard')",
        "all(x.shape == (0,) for x in out)",
        r"$^",
    ),
    "FasterRCNN.losses with a label 0": (
        "from lecture_lib.detection.faster_rcnn import FasterRCNN\n"
        "out = FasterRCNN(3, image_size=64).losses(torch.rand(1, 3, 64, 64),"
        " [{'boxes': t([[0, 0, 30, 30]]), 'labels': torch.tensor([0])}])",
        None,
        r"labels.*background",
    ),
    "confusion_matrix num_classes=np.int64(2)": (
        "from lecture_lib.metrics.segmentation import confusion_matrix\n"
        "p = torch.tensor([[[0, 1], [1, 1]]]); out = confusion_matrix(p, p, np.int64(2))",
        "out.tolist() == [[1, 0], [0, 3]]",
        r"$^",
    ),
    "nearest k = 0-d tensor": (
        "from lecture_lib.embeddings.words import nearest\n"
        "out = nearest(torch.eye(3), torch.tensor([1.0, 0, 0]), torch.tensor(1))",
        "out[0].tolist() == [0]",
        r"$^",
    ),
    "manifest with an upper-case SHA": (
        "from lecture_lib import checkpoints\n"
        "e = checkpoints.save_checkpoint({'a': 1}, 'a.pt', command='-', folder=tmp)\n"
        "e['sha256'] = e['sha256'].upper(); (tmp / 'MANIFEST.json').write_text(json.dumps({'files': [e]}))\n"
        "out = checkpoints.load_checkpoint('a.pt', folder=tmp)",
        "out == {'a': 1}",
        r"$^",
    ),
    "pairwise_sq_distances N = 4000, D = 128": (
        "from lecture_lib.faces.triplets import pairwise_sq_distances\n"
        "out = pairwise_sq_distances(torch.randn(4000, 128))",
        "out.shape == (4000, 4000) and bool((out.diagonal() == 0).all())",
        r"would need",
    ),
    "mine_triplets('semi-hard') N = 1500": (
        "from lecture_lib.faces.triplets import mine_triplets\n"
        "g = torch.Generator().manual_seed(0)\n"
        "x, y = torch.randn(1500, 8, generator=g), torch.randint(0, 300, (1500,), generator=g)\n"
        "out = mine_triplets(x, y, 0.2)",
        "len(out) == 3 and out[0].numel() > 0",
        r"would need",
    ),
    "confusion_matrix num_classes=10**6": (
        "from lecture_lib.metrics.segmentation import confusion_matrix\n"
        "p = torch.zeros(1, 2, 2, dtype=torch.int64); out = confusion_matrix(p, p, 10**6)",
        None,
        r"would need",
    ),
    "RoIHead stride=0": (
        "from lecture_lib.detection.roi_heads import RoIHead\n"
        "head = RoIHead(8, 3, stride=0); out = head(torch.rand(1, 8, 8, 8), [t([[0, 0, 8, 8]])])",
        None,
        r"stride",
    ),
    "roi_pool output_size=2.5": (
        "from lecture_lib.boxes import roi_pool\n"
        "out = roi_pool(torch.rand(1, 1, 4, 4), t([[0, 0, 0, 2, 2]]), 2.5)",
        None,
        r"output_size",
    ),
    "box_iou of a list": (
        "from lecture_lib.boxes import box_iou\nout = box_iou([[0, 0, 1, 1]], t([[0, 0, 1, 1]]))",
        None,
        r"boxes1",
    ),
}


def _child(code: str, check: str | None, out_fd: int) -> None:
    """In the forked process: run one case, write its JSON result to ``out_fd``, exit."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    ns: dict = {}
    try:
        exec(PRELUDE + textwrap.dedent(code), ns)
    except BaseException as exc:
        result = {"kind": "error", "type": type(exc).__name__, "msg": str(exc)[:500]}
    else:
        try:
            result = {"kind": "value", "correct": bool(eval(check, ns)) if check else False}
        except Exception:
            result = {"kind": "value", "correct": False}
    os.write(out_fd, json.dumps(result).encode())
    os._exit(0)


def run_case(name: str, timeout: float) -> tuple[str, str]:
    """Fork (torch already imported, so a case costs no import time), run, classify."""
    code, check, clear = CASES[name]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(code, check, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    status = None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
            return "hang", f"still running after {timeout:g} s"
        else:
            time.sleep(0.02)
    with os.fdopen(read_fd, "rb") as fh:
        payload = fh.read()
    if os.WIFSIGNALED(status):
        return "crash", f"killed by signal {os.WTERMSIG(status)}"
    if not payload:
        return "crash", f"exit {os.WEXITSTATUS(status)} without a result"
    result = json.loads(payload)
    if result["kind"] == "value":
        return ("correct", "") if result["correct"] else ("silent wrong", "")
    detail = f"{result['type']}: {result['msg'][:160]}"
    clear_type = result["type"] in ("ValueError", "TypeError", "FloatingPointError")
    if clear_type and re.search(clear, result["msg"], re.S):
        return "clear error", detail
    return "unhelpful error", detail


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    parser.add_argument("--json", help="also write {case: [outcome, detail]} here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # before any fork: no thread pool is copied into the children
    os.chdir(tempfile.gettempdir())  # lecture_lib comes from PYTHONPATH, never from the working folder
    os.environ.update(LECTURE_STATIC_WIDGETS="1")
    results = {}
    for name in CASES:
        outcome, detail = run_case(name, args.timeout)
        results[name] = (outcome, detail)
        print(f"{outcome:16} {name}" + (f"  [{detail}]" if detail else ""), flush=True)
    counts = collections.Counter(o for o, _ in results.values())
    print("\n" + " | ".join(f"{o}: {counts.get(o, 0)}" for o in OUTCOMES) + f" | total: {len(results)}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
