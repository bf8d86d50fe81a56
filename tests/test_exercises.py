"""The student edition's building blocks: solutions stripped, outputs cleared."""

import nbformat
import pytest

from lecture_lib import exercises


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
