"""The course website: the executed notebooks as static HTML pages, in lecture order.

    python tools/book.py [--out build/book]     # `make book`; then open build/book/index.html

Offline, with what the project already installs (nbconvert): one page per notebook (navigation,
Colab badges for the lecture and the student edition, Binder, the student notebook to download,
figures as files with alt text from ``lecture_lib.viz.describe_figure``),
a landing page mapping the lecture's slides to the notebooks and their sections, with the claims
scoreboard (every row of every notebook's closing "lecture claim vs measured here" table: its
measurement and verdict, and the rows that do not hold or are undecided, with their reasons), then a link
check of every page (every relative link and image must exist, every ``#anchor`` must be on its
page). ``.github/workflows/pages.yml`` publishes the result to GitHub Pages.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExtractOutputPreprocessor

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_lib.config import REPO_BRANCH, REPO_URL  # noqa: E402
from lecture_lib.exercises import make_student_notebook  # noqa: E402

STUDENT_DIR = "student"  # the committed student edition (tools/nb.py, tests/test_student_edition.py)

# The lecture's topics in slide order (Leibe, Computer Vision lecture 16) -> notebook stems.
SLIDES = [
    ("Recap: CNNs, convolution, pooling, AlexNet, VGGNet, GoogLeNet, ResNets", "01_cnn_recap"),
    ("Transfer Learning with CNNs; The Learned Features are Generic", "02_transfer_learning"),
    (
        "Object Detection: R-CNN, R-CNN pipeline, Classification, Bounding Box Regressors, "
        "Problems with R-CNN",
        "03a_rcnn",
    ),
    ("Fast R-CNN: forward pass, training (backward pass)", "03b_fast_rcnn"),
    (
        "Region Proposal Networks, Faster R-CNN: one network, four losses; deeper networks do better",
        "03c_faster_rcnn",
    ),
    ("Semantic Image Segmentation: CNNs vs. FCNs, encoder-decoder, skip connections", "04_segmentation"),
    ("FCNs for Human Pose Estimation; Heat Map Predictions from FCN", "05_pose"),
    ("Face Verification: DeepFace; Discriminative Face Embeddings (triplet loss, FaceNet)", "06_faces"),
    ("Vector Arithmetics in Embedding Space; Commercial Recognition Services", "07_embeddings"),
]
CSS = """
body { max-width: 1100px; margin: 0 auto; font-family: system-ui, sans-serif; }
nav.book { display: flex; gap: 1em; flex-wrap: wrap; padding: .6em 0; border-bottom: 1px solid #ccc; }
nav.book a { text-decoration: none; } nav.book .here { font-weight: bold; }
table.slides td, table.slides th { padding: .3em .6em; border-bottom: 1px solid #ddd; text-align: left; }
table.claims td, table.claims th { padding: .2em .5em; border-bottom: 1px solid #eee; text-align: left; }
"""
LEDGER_TITLE = "Lecture claim vs measured here"
SETTLED = ("holds", "exact")  # verdicts that need no reason on the landing page


def repo_path() -> str:
    return REPO_URL.removeprefix("https://github.com/")


def badges(stem: str) -> str:
    """Colab for both editions (lecture: solutions shown; student: exercises to do), and Binder."""
    nb = f"notebooks/{stem}.ipynb"
    colab = f"https://colab.research.google.com/github/{repo_path()}/blob/{REPO_BRANCH}/{nb}"
    student = colab.replace(f"/{nb}", f"/{STUDENT_DIR}/{stem}.ipynb")
    binder = f"https://mybinder.org/v2/gh/{repo_path()}/{REPO_BRANCH}?labpath={nb}"
    svg = "https://colab.research.google.com/assets/colab-badge.svg"
    return (
        f'lecture edition <a href="{colab}"><img src="{svg}" alt="Open {stem} in Colab"></a> '
        f'<a href="{binder}"><img src="https://mybinder.org/badge_logo.svg" '
        f'alt="Launch {stem} on Binder"></a> · student edition '
        f'<a href="{student}"><img src="{svg}" alt="Open the student edition of {stem} in Colab"></a> '
        f'<a href="student/{stem}.ipynb" download>download</a>'
    )


def title_of(nb) -> str:
    first = nb.cells[0].source.splitlines()[0] if nb.cells and nb.cells[0].cell_type == "markdown" else ""
    return first.lstrip("# ").strip() or "notebook"


def sections_of(nb) -> list[str]:
    return [
        line[3:].strip()
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("## ")
    ]


def nav(stems: list[str], here: str | None) -> str:
    items = ['<a href="index.html"' + (' class="here"' if here is None else "") + ">Course home</a>"]
    for s in stems:
        cls = ' class="here"' if s == here else ""
        number, title = html.escape(s[:3].rstrip("_")), html.escape(s[3:].replace("_", " "))
        items.append(f'<a href="{s}.html"{cls}>{number} {title}</a>')
    return '<nav class="book" aria-label="notebooks">' + "".join(items) + "</nav>"


def render_notebook(path: Path, out: Path, stems: list[str]) -> None:
    """One notebook -> ``out/<stem>.html`` + its figures in ``out/<stem>_files/`` (with alt text)."""
    nb = nbformat.read(path, as_version=4)
    stem = path.stem
    alts = {}
    for ci, cell in enumerate(nb.cells):
        for oi, output in enumerate(cell.get("outputs", [])):
            if "image/png" in output.get("data", {}):
                alt = output.get("metadata", {}).get("image/png", {}).get("alt")
                alts[(ci, oi)] = alt or f"Figure output of a code cell in {title_of(nb)}"
    extractor = ExtractOutputPreprocessor(
        output_filename_template=stem + "_files/{cell_index}_{index}{extension}"
    )
    nb, resources = extractor.preprocess(nb, {"unique_key": stem, "outputs": {}})
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb, resources)
    for name, data in resources.get("outputs", {}).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)

    def add_alt(match: re.Match) -> str:  # nbconvert writes a placeholder alt; put the figure's own
        cell, index = (int(v) for v in match.group(2).split("_"))
        alt = html.escape(alts.get((cell, index), "Figure"), quote=True)
        return f'<img alt="{alt}" class="" src="{match.group(1)}"'

    body = re.sub(
        r'<img alt="[^"]*" class="" src="(' + re.escape(stem) + r'_files/(\d+_\d+)\.png)"', add_alt, body
    )
    header = f"<style>{CSS}</style>{nav(stems, stem)}<p>{badges(stem)}</p>"
    i = stems.index(stem)
    footer = (
        '<nav class="book" aria-label="previous and next">'
        + (f'<a href="{stems[i - 1]}.html">← {stems[i - 1]}</a>' if i else "")
        + (f'<a href="{stems[i + 1]}.html">{stems[i + 1]} →</a>' if i + 1 < len(stems) else "")
        + "</nav>"
    )
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + header, body, count=1)
    body = body.replace("</body>", footer + "</body>", 1)
    (out / f"{stem}.html").write_text(body, encoding="utf-8")


def ledger_rows(nb) -> list[dict[str, str]]:
    """Every row of the notebook's closing claims table(s), as ``{column: text}`` (from the saved
    HTML output of ``ledger.Ledger``): what the scoreboard shows, taken from the executed notebook."""
    rows = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            page = "".join(out.get("data", {}).get("text/html", ""))
            if LEDGER_TITLE not in page:
                continue
            head = [html.unescape(h) for h in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", page, re.S)]
            if not {"claim", "measured here", "verdict"} <= set(head):
                continue  # the title quoted elsewhere, not the table
            for tr in re.findall(r"<tr>(.*?)</tr>", page, re.S):
                cells = [
                    html.unescape(re.sub(r"<[^>]+>", "", c))
                    for c in re.findall(r"<td(?:\s[^>]*)?>(.*?)</td>", tr, re.S)
                ]
                if cells and len(cells) == len(head):
                    rows.append(dict(zip(head, cells)))
    return rows


def render_scoreboard(notebooks: list[Path]) -> str:
    """The landing page's claims scoreboard: per notebook, each claim with its measurement and
    verdict; then every row that does not simply hold, with its reason."""
    blocks, attention = [], []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        rows = ledger_rows(nb)
        if not rows:
            continue
        body = "".join(
            f"<tr><td>{html.escape(r['claim'])}</td><td>{html.escape(r['measured here'])}</td>"
            f"<td>{html.escape(r['verdict'].split(':', 1)[0])}</td></tr>"
            for r in rows
        )
        blocks.append(
            f'<h3><a href="{path.stem}.html">{html.escape(title_of(nb))}</a></h3><table class="claims">'
            "<thead><tr><th>claim</th><th>measured here</th><th>verdict</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
        attention += [
            f'<li><a href="{path.stem}.html">{html.escape(path.stem)}</a>: {html.escape(r["claim"])} — '
            f"<em>{html.escape(r['verdict'])}</em></li>"
            for r in rows
            if r["verdict"].split(":", 1)[0].strip() not in SETTLED
        ]
    total = sum(b.count("<tr><td>") for b in blocks)
    return (
        f'<h2 id="claims">Claims scoreboard</h2><p>{total} claims in {len(blocks)} notebooks, each with what '
        "the notebook measured and the verdict it computed.</p>"
        + "".join(blocks)
        + f'<h3 id="attention">Not holding here, partly, or undecided ({len(attention)})</h3>'
        + (f"<ul>{''.join(attention)}</ul>" if attention else "<p>none</p>")
    )


def render_index(notebooks: list[Path], out: Path) -> None:
    stems = [p.stem for p in notebooks]
    rows = []
    for topic, stem in SLIDES:
        if stem not in stems:
            continue
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        secs = "".join(f"<li>{html.escape(s)}</li>" for s in sections_of(nb))
        rows.append(
            f'<tr><td>{html.escape(topic)}</td><td><a href="{stem}.html">{html.escape(title_of(nb))}</a>'
            f"<ul>{secs}</ul></td><td>{badges(stem)}</td></tr>"
        )
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Deep Learning Applications — course companion</title><style>{CSS}</style></head><body>
{nav(stems, None)}
<h1>Deep Learning Applications — course companion</h1>
<p>Notebooks for the computer-vision lecture <em>Deep Learning Applications</em>. Each follows the
slides, runs the idea, measures it, and ends with a <strong>lecture claim vs measured here</strong>
table whose numbers and verdicts the notebook computes. Run them on Colab (GPU, real datasets:
set <code>PROFILE = "full"</code>) or on Binder / your machine (quick profile, CPU, offline).</p>
<h2 id="slides">Slides → notebooks</h2>
<table class="slides">
<thead><tr><th>lecture slides</th><th>notebook and its sections</th><th>open</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p>Each notebook comes in two editions: the <strong>lecture edition</strong> with every solution, and
the <strong>student edition</strong> with the exercises to do, a self-check after each and the
progress at the end.</p>
{render_scoreboard(notebooks)}
<p><a href="teaching.html">Teaching with this course</a>: a class on JupyterHub (measured memory and
CPU time per notebook), Binder, Colab for the full profile; release, collect and grade the
exercises.</p>
<p>Source: <a href="{REPO_URL}">{html.escape(repo_path())}</a></p>
</body></html>"""
    (out / "index.html").write_text(page, encoding="utf-8")


def render_teaching(out: Path, stems: list[str]) -> None:
    """docs/teaching.md (JupyterHub, Binder, Colab; measured costs) as ``teaching.html``."""
    import mistune

    text = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    body = mistune.html(text)
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Teaching with this course</title><style>{CSS}</style></head><body>
{nav(stems, None)}
{body}
</body></html>"""
    (out / "teaching.html").write_text(page, encoding="utf-8")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(a[key])
        if tag == "img" and (not a.get("alt") or a["alt"].startswith("No description")):
            self.links.append("MISSING-ALT:" + (a.get("src") or "")[:60])


def check_links(out: Path) -> list[str]:
    """Broken relative links/images, missing #anchors and images without alt text, over every page."""
    pages = {p.name: p for p in out.glob("*.html")}
    parsed = {}
    for name, p in pages.items():
        parser = _Links()
        parser.feed(p.read_text(encoding="utf-8"))
        parsed[name] = parser
    problems = []
    for name, parser in parsed.items():
        for link in parser.links:
            if link.startswith("MISSING-ALT:"):
                problems.append(f"{name}: image without alt text ({link[12:]})")
                continue
            if re.match(r"^(https?:|mailto:|data:|javascript:)", link):
                continue
            target, _, anchor = link.partition("#")
            if target and not (out / target).exists():
                problems.append(f"{name}: broken link {link}")
            elif anchor and anchor not in parsed.get(target or name, _Links()).ids:
                problems.append(f"{name}: missing anchor {link}")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "book"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    order = {stem: i for i, (_, stem) in enumerate(SLIDES)}
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"), key=lambda p: (order.get(p.stem, 99), p.name))
    missing = [p.name for p in notebooks if p.stem not in order]
    if missing:
        print(f"notebooks missing from SLIDES in tools/book.py: {missing}", file=sys.stderr)
        return 1
    stems = [p.stem for p in notebooks]
    for path in notebooks:
        render_notebook(path, out, stems)
        make_student_notebook(path, out / "student" / path.name)  # the student edition, downloadable
    render_index(notebooks, out)
    render_teaching(out, stems)
    (out / ".nojekyll").write_text("")
    problems = check_links(out)
    pages = len(list(out.glob("*.html")))
    for p in problems:
        print(p, file=sys.stderr)
    print(f"book: {pages} pages in {out}, link check: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
