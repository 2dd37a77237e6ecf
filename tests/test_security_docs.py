"""docs/security.md and the rule list of docs/ci-and-policies.md cannot drift from the
pack: every rule is listed once with its one line, and the threat model names every rule."""

from __future__ import annotations

import re

from offline.harness import PROJECT_ROOT
from policies.mcp_policies import ALL_POLICIES, MODULES

README = (PROJECT_ROOT / "README.md").read_text()
RULES = (PROJECT_ROOT / "docs" / "ci-and-policies.md").read_text()
SECURITY = (PROJECT_ROOT / "docs" / "security.md").read_text()
# `  - `<rule>`: <one line>` under a `- `<module>.py`` entry of the rule list.
RULE_LINE = re.compile(r"^  - `([a-z0-9-]+)`: (\S.+)$", re.M)


def test_the_rule_list_names_every_rule_once_with_one_line():
    listed = RULE_LINE.findall(RULES)
    names = [name for name, _ in listed]
    assert sorted(names) == sorted(p.name for p in ALL_POLICIES)
    assert len(names) == len(set(names))
    assert all(len(line) > 20 for _, line in listed)


def test_the_rule_list_groups_rules_under_their_modules():
    for module in MODULES:
        assert f"- `{module}.py`\n" in RULES, module


def test_the_readme_and_the_rule_list_link_the_threat_model():
    assert README.count("(docs/security.md)") >= 2
    assert "(security.md)" in RULES


def test_threat_model_names_every_rule():
    """A rule is named outright, or as `-suffix` after its family (`workload-run-as-non-root`, `-resources`)."""
    named = set(re.findall(r"`(-?[a-z0-9]+(?:-[a-z0-9]+)*)`", SECURITY))
    missing = [p.name for p in ALL_POLICIES if p.name not in named and f"-{p.name.split('-', 1)[1]}" not in named]
    assert missing == []
