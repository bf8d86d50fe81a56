import nbformat
import pytest
import torch

from lecture_lib import exercises


def correct_area(box):
    return float((box[2] - box[0]) * (box[3] - box[1]))


def wrong_area(box):
    return float((box[2] - box[0]) + (box[3] - box[1]))


def todo(box):
    raise NotImplementedError


CASES = [
    ("unit square", (torch.tensor([0.0, 0.0, 1.0, 1.0]),), 1.0),
    ("2x3 box", (torch.tensor([1.0, 1.0, 3.0, 4.0]),), 6.0),
]


def test_check_passes_correct_and_fails_wrong(capsys):
    assert exercises.check("box area", correct_area, CASES)
    assert "[pass] box area: all 2 checks passed." in capsys.readouterr().out
    assert not exercises.check("box area", wrong_area, CASES)
    out = capsys.readouterr().out
    assert "[fail] box area - 2x3 box: expected 6.0, got 5.0" in out and "0/2 checks passed" in out


def test_check_not_implemented_and_exceptions(capsys):
    assert not exercises.check("box area", todo, CASES)
    assert "[not yet]" in capsys.readouterr().out
    assert not exercises.check("box area", lambda b: b.nope, CASES)
    assert "raised AttributeError" in capsys.readouterr().out


def test_check_tensors_shapes_and_predicates(capsys):
    t = torch.arange(4.0)
    assert exercises.check("t", lambda: t + 1e-9, [("close", (), t)])
    assert not exercises.check("t", lambda: t[:3], [("shape", (), t)])
    assert exercises.check("p", lambda: 3, [("odd", (), lambda r: r % 2 == 1)])
    assert not exercises.check("p", lambda: 4, [("odd", (), lambda r: r % 2 == 1)])
    with pytest.raises(ValueError, match="at least one case"):
        exercises.check("x", correct_area, [])
    with pytest.raises(TypeError, match="fn must be callable"):
        exercises.check("x", 3, CASES)


def test_strip_solutions_keeps_indent_and_rejects_unbalanced():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n\nprint(f)"
    assert exercises.strip_solutions(src) == "def f(x):\n    raise NotImplementedError\n\nprint(f)"
    with pytest.raises(ValueError, match="without a matching"):
        exercises.strip_solutions("### BEGIN SOLUTION\nx = 1")
    with pytest.raises(ValueError, match="without"):
        exercises.strip_solutions("x = 1\n### END SOLUTION")


def test_make_student_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42")]
    cell.execution_count = 3
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert exercises.main([str(tmp_path), str(tmp_path / "student")]) == 0
    out = nbformat.read(tmp_path / "student" / "a.ipynb", as_version=4)
    assert "return 42" not in out.cells[1].source and "raise NotImplementedError" in out.cells[1].source
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    ns = {}
    exec(out.cells[1].source, ns)
    with pytest.raises(NotImplementedError):
        ns["f"]()
