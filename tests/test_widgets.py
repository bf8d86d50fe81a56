import io

import numpy as np
import pytest
from PIL import Image

from lecture_lib import widgets


def test_static_fallback_uses_function_defaults_and_midpoints(monkeypatch):
    monkeypatch.setenv("LECTURE_STATIC_WIDGETS", "1")
    seen = {}

    def plot(threshold=0.5, k=3, mode="a", show=False):
        seen.update(threshold=threshold, k=k, mode=mode, show=show)
        return "drawn"

    assert not widgets.widgets_live()
    assert widgets.explore(plot, threshold=(0.1, 0.9, 0.05), k=(1, 9), mode=["b", "c"], show=True) == "drawn"
    assert seen == {"threshold": 0.5, "k": 3, "mode": "a", "show": False}  # function defaults win


def test_default_values_without_function_defaults():
    assert widgets.default_value((1, 9)) == 5
    assert widgets.default_value((0.0, 1.0, 0.1)) == 0.5
    assert widgets.default_value(["x", "y"]) == "x"
    assert widgets.default_value([("one", 1), ("two", 2)]) == 1
    assert widgets.default_value({"one": 1}) == 1
    assert widgets.default_value(True) is True


def test_explore_rejects_unknown_controls():
    def plot(a=1):
        return a

    with pytest.raises(TypeError, match=r"plot\(\) has no parameter\(s\) \['b'\]"):
        widgets.explore(plot, b=(0, 1))
    with pytest.raises(TypeError, match="plot_fn must be callable"):
        widgets.explore(3)


def test_live_interactive_widget(monkeypatch):
    """With a kernel present the explorer builds a real ipywidgets.interactive."""
    import ipywidgets

    monkeypatch.setattr(widgets, "widgets_live", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    w = widgets.explore(lambda k=2: k, k=(1, 5))
    assert isinstance(w, ipywidgets.interactive) and w.children[0].value == 2


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 6), (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_uploaded_files_ipywidgets7_and_8_formats():
    content = _png()
    v7 = {"cat.png": {"metadata": {"name": "cat.png", "type": "image/png"}, "content": content}}
    v8 = ({"name": "cat.png", "type": "image/png", "size": len(content), "content": memoryview(content)},)
    assert widgets.uploaded_files(v7) == widgets.uploaded_files(v8) == [("cat.png", content)]
    with pytest.raises(TypeError, match="unexpected FileUpload value"):
        widgets.uploaded_files(3)


def test_image_upload_handler_live(monkeypatch, capsys):
    monkeypatch.setattr(widgets, "widgets_live", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    got = []
    box = widgets.image_upload(got.append)
    upload = box.children[0]
    handler = upload._trait_notifiers["value"]["change"][-1]
    handler({"new": ({"name": "a.png", "content": memoryview(_png())},)})
    handler({"new": ({"name": "b.txt", "content": memoryview(b"not an image")},)})
    assert len(got) == 1 and got[0].shape == (6, 10, 3) and got[0].dtype == np.uint8


def test_image_upload_static(monkeypatch, capsys):
    monkeypatch.setenv("LECTURE_STATIC_WIDGETS", "1")
    assert widgets.image_upload(lambda img: None) is None
    assert "upload your own image" in capsys.readouterr().out


def test_figures_describe_themselves_for_alt_text():
    import matplotlib.pyplot as plt

    from lecture_lib import viz

    fig, axes = plt.subplots(1, 2)
    axes[0].set_title("loss")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[1].imshow([[0, 1]])
    fig.colorbar(axes[1].images[0], ax=axes[1])
    fig.suptitle("training")
    assert viz.describe_figure(fig) == "Figure: training — loss (loss vs epoch)"
    plt.close(fig)
    fig, _ = plt.subplots()
    assert viz.describe_figure(fig) == "Figure: 1 panel(s) without titles"
    plt.close(fig)


def test_setup_uses_a_colour_blind_safe_cycle():
    import matplotlib.pyplot as plt

    import lecture_lib
    from lecture_lib.viz import OKABE_ITO

    lecture_lib.setup("quick", verbose=False)
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"] == list(OKABE_ITO)
