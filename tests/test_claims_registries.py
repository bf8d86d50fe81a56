"""The pre-registered claims (lecture_lib/<concept>/claims.py): one registry per notebook, valid,
ids unique and named after their concept, and never changed in the same commit as a checkpoint."""

import importlib
import subprocess
from pathlib import Path

import pytest

from lecture_lib.claims import ClaimRegistry

ROOT = Path(__file__).resolve().parent.parent
CONCEPTS = ("cnn", "transfer", "detection", "segmentation", "pose", "faces", "embeddings")


def registries() -> dict[str, tuple[str, ClaimRegistry]]:
    """``{notebook stem: (concept, registry)}`` over every concept's ``claims`` module."""
    found = {}
    for concept in CONCEPTS:
        module = importlib.import_module(f"lecture_lib.{concept}.claims")
        for name in dir(module):
            reg = getattr(module, name)
            if name.startswith("REGISTRY") and isinstance(reg, ClaimRegistry):
                assert reg.notebook not in found, f"two registries for {reg.notebook}"
                found[reg.notebook] = (concept, reg)
    return found


def test_every_notebook_has_one_registry():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert set(registries()) == notebooks


def test_claim_ids_are_unique_and_named_after_their_concept():
    seen = {}
    for notebook, (concept, reg) in registries().items():
        for claim in reg:
            assert claim.id.startswith(f"{concept}."), f"{claim.id} in {notebook} is not under {concept}."
            assert claim.id not in seen, f"{claim.id} registered in {seen.get(claim.id)} and {notebook}"
            seen[claim.id] = notebook
    assert len(seen) >= 9


def test_every_margin_and_paper_figure_is_cited():
    for _, reg in registries().values():
        for claim in reg:
            if claim.margin or claim.direction == "≈":
                assert claim.margin_source.strip(), claim.id
            if claim.kind in ("scale", "effect"):
                assert claim.paper.strip(), (
                    f"{claim.id}: say the paper's or slide's figure (or 'qualitative')"
                )


def _commits_touching(paths: list[str]) -> set[str]:
    out = subprocess.run(
        ["git", "log", "--format=%H", "--", *paths], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout (installed package)")
def test_no_commit_changes_a_registry_and_a_checkpoint_together():
    registry_commits = _commits_touching([f"lecture_lib/{c}/claims.py" for c in CONCEPTS])
    checkpoint_commits = _commits_touching(["data/*.pt", "data/MANIFEST.json"])
    both = registry_commits & checkpoint_commits
    assert not both, f"commits changing both a claims registry and a checkpoint: {sorted(both)}"
