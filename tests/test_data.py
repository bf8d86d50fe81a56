import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lecture_lib import data

PAYLOAD = b"lecture data " * 5000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        if self.path == "/cut":  # announces more bytes than it sends, then hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_verifies_and_caches(server, tmp_path):
    dest = tmp_path / "file.bin"
    assert data.download(f"{server}/ok", SHA, dest) == dest
    assert dest.read_bytes() == PAYLOAD and _leftovers(tmp_path) == ["file.bin"]
    # second call: cache hit, no network needed (a dead URL would fail otherwise)
    assert data.download("http://127.0.0.1:9/nowhere", SHA, dest) == dest


def test_download_local_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "copy.bin"
    data.download(src.as_uri(), SHA, dest)
    assert dest.read_bytes() == PAYLOAD


def test_wrong_hash_leaves_nothing(server, tmp_path):
    dest = tmp_path / "file.bin"
    with pytest.raises(ValueError, match="has SHA-256 .* expected 0000"):
        data.download(f"{server}/ok", "0" * 64, dest)
    assert _leftovers(tmp_path) == []


def test_wrong_hash_keeps_existing_file(server, tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"previous good version")
    with pytest.raises(ValueError):
        data.download(f"{server}/ok", "1" * 64, dest)
    assert dest.read_bytes() == b"previous good version" and _leftovers(tmp_path) == ["file.bin"]


def test_interrupted_transfer_leaves_nothing(server, tmp_path):
    dest = tmp_path / "file.bin"
    with pytest.raises((ValueError, data.OfflineError), match="cut short|failed"):
        data.download(f"{server}/cut", SHA, dest)
    assert _leftovers(tmp_path) == []


def test_offline_and_http_errors_are_one_clear_message(server, tmp_path):
    with pytest.raises(data.OfflineError, match="HTTP 404.*quick profile"):
        data.download(f"{server}/missing", SHA, tmp_path / "x")
    with pytest.raises(data.OfflineError, match="failed.*LECTURE_PROFILE=quick"):
        data.download("http://127.0.0.1:9/closed-port", SHA, tmp_path / "x")
    assert _leftovers(tmp_path) == []


def test_bad_sha_argument(tmp_path):
    with pytest.raises(ValueError, match="64-character hex digest, got 'abc'"):
        data.download("http://127.0.0.1:9/", "abc", tmp_path / "x")


# ------------------------------------------------------------------------------- archives
def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for info, payload in members:
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def _file(name, payload=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    return info, payload


def test_extract_good_tar_and_zip(tmp_path):
    archive = _tar(tmp_path / "ok.tar.gz", [_file("d/a.txt", b"hello"), _file("b.txt")])
    out = data.extract_archive(archive, tmp_path / "out")
    assert (out / "d" / "a.txt").read_bytes() == b"hello"
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("z/c.txt", "zip")
    assert (data.extract_archive(tmp_path / "ok.zip", tmp_path / "zout") / "z" / "c.txt").read_text() == "zip"


def _link(name, target, kind):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    "members, message",
    [
        ([_file("../evil.txt")], r"escapes the target"),
        ([_file("/etc/evil.txt")], r"absolute path"),
        ([_file("ok.txt"), _link("l", "/etc/passwd", tarfile.SYMTYPE)], r"is a link"),
        ([_link("h", "../../x", tarfile.LNKTYPE)], r"is a link"),
    ],
)
def test_hostile_tar_refused_and_nothing_written(tmp_path, members, message):
    archive = _tar(tmp_path / "evil.tar.gz", members)
    with pytest.raises(ValueError, match=message):
        data.extract_archive(archive, tmp_path / "out")
    assert _leftovers(tmp_path) == ["evil.tar.gz"]
    assert not (tmp_path.parent / "evil.txt").exists()


def test_hostile_zip_refused(tmp_path):
    for name, message in [
        ("../zipslip.txt", "escapes"),
        ("/abs.txt", "absolute"),
        ("C:/win.txt", "absolute"),
    ]:
        archive = tmp_path / "evil.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(zipfile.ZipInfo(name), "x")
        with pytest.raises(ValueError, match=message):
            data.extract_archive(archive, tmp_path / "out")
        assert not (tmp_path / "out").exists()
    link = zipfile.ZipInfo("link")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ValueError, match="is a link"):
        data.extract_archive(tmp_path / "link.zip", tmp_path / "out")


def test_extract_refuses_non_archives_and_full_targets(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        data.extract_archive(tmp_path / "f.txt", tmp_path / "out")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("keep")
    archive = _tar(tmp_path / "ok.tar.gz", [_file("a.txt")])
    with pytest.raises(ValueError, match="not empty"):
        data.extract_archive(archive, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "keep"


# ------------------------------------------------------------------- full-profile plumbing
def test_full_profile_dataset_offline_message(tmp_path):
    class VOCDetection:  # stands in for a torchvision dataset whose host is unreachable
        def __init__(self, root, download, **kwargs):
            import urllib.error

            raise urllib.error.URLError("[Errno -2] Name or service not known")

    with pytest.raises(data.OfflineError) as info:
        data.full_profile_dataset(VOCDetection, tmp_path, year="2007")
    message = str(info.value)
    assert "Could not get VOCDetection" in message and "by hand" in message and "quick" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_full_profile_dataset_passes_arguments(tmp_path):
    calls = []

    class Fake:  # as torchvision: without download=True a missing dataset is a RuntimeError
        def __init__(self, root, download, **kwargs):
            calls.append(download)
            if not download and not (Path(root) / "there").exists():
                raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
            self.root, self.download, self.kwargs = root, download, kwargs

    ds = data.full_profile_dataset(Fake, tmp_path, split="test")
    assert ds.download is True and ds.kwargs == {"split": "test"} and ds.root == str(tmp_path)
    assert calls == [False, True]
    (tmp_path / "there").mkdir()  # already on disk (downloaded before, or by hand): no download
    calls.clear()
    ds = data.full_profile_dataset(Fake, tmp_path, split="test")
    assert ds.download is False and calls == [False]


def test_pretrained_offline_message(monkeypatch):
    import urllib.error

    import torchvision

    def fail(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torchvision.models._api.WeightsEnum, "get_state_dict", fail)
    with pytest.raises(
        data.OfflineError, match="Could not download pretrained weights .*resnet18.*quick profile"
    ):
        data.pretrained(torchvision.models.resnet18, weights=torchvision.models.ResNet18_Weights.DEFAULT)


@pytest.mark.parametrize("name", sorted(data.SAMPLE_IMAGES))
def test_sample_images_offline(name):
    img = data.sample_image(name, max_side=64)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and max(img.shape[:2]) <= 64


def test_unknown_sample_image():
    with pytest.raises(ValueError, match="unknown sample image 'lena'"):
        data.sample_image("lena")
