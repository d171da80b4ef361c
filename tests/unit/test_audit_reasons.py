"""The reason table (schemas/audit_reasons.py) covers every reason, and its doc is current."""

from __future__ import annotations

import re
from pathlib import Path

from schemas.audit import REASONS
from schemas.audit_reasons import ACTIONABLE_SKIPS, GUIDE, NOTHING, REGENERATE, fix_for, render

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "audit-reasons.md"


def test_every_reason_has_a_row() -> None:
    assert set(GUIDE) == set(REASONS)
    assert all(guide.happened and guide.fix for guide in GUIDE.values())


def test_actionable_skips_are_skips_with_something_to_do() -> None:
    for reason in ACTIONABLE_SKIPS:
        assert "skipped" in GUIDE[reason].outcomes and GUIDE[reason].fix != NOTHING, reason


def test_every_reason_is_in_the_doc() -> None:
    text = DOC.read_text()
    missing = [reason for reason in REASONS if f"| `{reason}` |" not in text]
    assert not missing, f"docs/audit-reasons.md lacks {missing}; run: {REGENERATE}"


def test_the_doc_is_generated_from_the_table() -> None:
    assert DOC.read_text() == render(), f"docs/audit-reasons.md is stale; run: {REGENERATE}"


def test_the_readme_documents_every_reason_and_no_other() -> None:
    # The README is where the contract says reasons are documented.
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Audit outcomes and reasons", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ((?:`[a-z_]+`(?:, )?)+) \|", section, flags=re.MULTILINE)
    named = {code for row in rows for code in re.findall(r"`([a-z_]+)`", row)}
    assert named == set(REASONS)


def test_fix_for_a_code_this_version_does_not_know() -> None:
    assert fix_for("customer_not_in_vitally") == GUIDE["customer_not_in_vitally"].fix
    assert fix_for("from_a_newer_version") is None
    assert fix_for(None) is None
