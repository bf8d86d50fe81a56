# The README's commands. `make lab` for students, `make test` for CI and TAs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# CI runs two notebooks at once (2 cores), one torch thread each, widgets drawn statically.
NB_ENV := LECTURE_PROFILE=quick LECTURE_THREADS=1 LECTURE_STATIC_WIDGETS=1 PYTHONHASHSEED=0 \
          OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
NB_JOBS ?= 2
# Let Python cache compiled bytecode inside .venv. Some images set PYTHONDONTWRITEBYTECODE=1; with the
# venv installed --no-compile, every kernel and worker would then recompile torch from source.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: venv lab test lint unit notebooks smoke-full checkpoints student student-run execute clean test-browser book

venv: $(STAMP)

# Idempotent: reinstalls only when pyproject.toml or constraints.txt changed. --no-compile: torch alone
# ships thousands of modules; Python compiles the few a run imports when it first imports them.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --user --name lecture-lib --display-name "Python (lecture_lib)" >/dev/null
	@touch $(STAMP)

# LAB_ARGS: extra options, e.g. `make lab LAB_ARGS="--no-browser --port=8899"`. Root (containers) needs --allow-root.
LAB_ARGS ?=
lab: venv
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

lint: venv
	$(BIN)/ruff check lecture_lib tests notebooks tools
	$(BIN)/ruff format --check lecture_lib tests tools
	$(BIN)/python -m mypy
	$(BIN)/lint-imports

unit: venv
	$(BIN)/python -m pytest tests -q -n $(NB_JOBS) -p no:cacheprovider

notebooks: venv
	$(NB_ENV) $(BIN)/python -m pytest notebooks --nbval-lax --nbval-current-env \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300 \
	    -p no:cacheprovider -n $(NB_JOBS) --dist loadfile -q

# The full profile of every notebook end to end, offline: fixtures in the real datasets' layouts,
# untrained torchvision models, 2 training steps per epoch, no network (see lecture_lib/smoke.py).
smoke-full: venv
	SMOKE_JOBS=$(NB_JOBS) $(BIN)/python tools/smoke_full.py

test: lint unit notebooks student-run smoke-full

# Every notebook in JupyterLab in a headless Chromium: Run All without errors, every explorer reacts
# to its control. Needs a Chromium (Debian: apt-get install chromium); screenshots in build/browser/.
test-browser: venv
	$(BIN)/python tools/browser_test.py

# The course website from the executed notebooks (build/book/index.html), link-checked.
book: venv
	$(BIN)/python tools/book.py

# Regenerate data/*.pt and data/MANIFEST.json (deterministic quick-profile training runs).
checkpoints: venv
	$(NB_ENV) $(BIN)/python tools/make_checkpoints.py

# Re-execute the committed notebooks (quick profile) so their saved outputs are current.
execute: venv
	$(BIN)/python tools/nb.py run notebooks/*.ipynb

# Student copies without solutions: build/student/*.ipynb
student: venv
	$(BIN)/python -m lecture_lib.exercises notebooks build/student

# The student edition, executed top to bottom (quick profile, NB_JOBS at once): no error anywhere, and
# every unsolved exercise reports "[not yet]" while the notebook goes on, and its last cell shows "0 of n done".
student-run: student
	$(BIN)/python tools/run_student.py build/student --jobs $(NB_JOBS)

# Grade a class: SUBMISSIONS/<student>/<notebook>.ipynb, or nbgrader's submitted/ folder
# (<student>/<assignment>/<notebook>.ipynb). Each exercise cell runs in a fresh process with a time
# limit (GRADE_TIMEOUT s); writes build/grades/gradebook.csv and build/grades/feedback/<student>.md.
SUBMISSIONS ?=
GRADE_TIMEOUT ?= 60
.PHONY: grade
grade: venv
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder of <student>/<notebook>.ipynb>" >&2; exit 2; }
	$(BIN)/python tools/grade.py "$(SUBMISSIONS)" --out build/grades --timeout $(GRADE_TIMEOUT)

clean:
	rm -rf build .pytest_cache
