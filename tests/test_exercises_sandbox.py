"""The exercise sandbox hides lecture_lib from the student's function."""

import pytest
import torch

from lecture_lib import pose
from lecture_lib.exercises import check, without_lecture_lib


def uses_library(kp):
    return pose.disk_heatmaps(kp, (4, 4), 1.0)


def imports_library(kp):
    from lecture_lib.pose import disk_heatmaps

    return disk_heatmaps(kp, (4, 4), 1.0)


def own_code(kp):
    return torch.zeros(len(kp), 4, 4)


def test_library_hidden_and_imports_refused():
    kp = torch.zeros(2, 2)
    assert uses_library(kp).shape == (2, 4, 4)  # works normally
    with pytest.raises(NameError, match="pose"):
        without_lecture_lib(uses_library)(kp)
    with pytest.raises(ImportError, match="without lecture_lib"):
        without_lecture_lib(imports_library)(kp)
    assert without_lecture_lib(own_code)(kp).shape == (2, 4, 4)  # torch stays available
    with pytest.raises(TypeError, match="plain Python function"):
        without_lecture_lib(len)


def test_check_hides_the_reference_by_default(capsys):
    cases = [("two joints", (torch.zeros(2, 2),), pose.disk_heatmaps(torch.zeros(2, 2), (4, 4), 1.0))]
    assert not check("disk maps", uses_library, cases)
    assert "NameError" in capsys.readouterr().out
    assert check("disk maps", uses_library, cases, hide_lecture_lib=False)


def test_allow_keeps_named_helpers():
    def helper_user(kp):
        return disk_heatmaps(kp, (4, 4), 1.0)  # noqa: F821 (put into the globals below)

    kp = torch.zeros(1, 2)
    globals()["disk_heatmaps"] = pose.disk_heatmaps
    try:
        with pytest.raises(NameError):
            without_lecture_lib(helper_user)(kp)
        assert without_lecture_lib(helper_user, allow=[pose.disk_heatmaps])(kp).shape == (1, 4, 4)
    finally:
        del globals()["disk_heatmaps"]
