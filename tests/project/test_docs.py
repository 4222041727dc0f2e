"""The documentation: the generated references equal what the code generates, the README stays
short, and no page links to a page, anchor or file that does not exist."""

from __future__ import annotations

import dataclasses
import re

import pytest
from click.testing import CliRunner
from helpers import ROOT
from test_structure import stale_mentions

from registry.cli import COMMANDS
from registry.cli.docs import REGENERATE, configuration_page
from registry.cli.main import main
from registry.settings import MEANINGS, Settings

DOCS = ROOT / "docs"
STALE = f"is stale: run `{REGENERATE}`"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
PAGE_NAMES = ("configuration.md", "cli.md")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The pages `registry docs write` writes, run as the `registry` command runs."""
    directory = tmp_path_factory.mktemp("docs")
    result = CliRunner().invoke(main, ["docs", "write", str(directory)])
    assert result.exit_code == 0, result.output
    return {name: (directory / name).read_text(encoding="utf-8") for name in PAGE_NAMES}


def test_configuration_reference_is_what_the_code_generates(written):
    committed = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert written["configuration.md"] == configuration_page()
    assert committed == configuration_page(), f"docs/configuration.md {STALE}"


def test_cli_reference_is_what_the_code_generates(written):
    committed = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert committed == written["cli.md"], f"docs/cli.md {STALE}"


def test_every_variable_and_command_is_in_the_references(written):
    configuration = written["configuration.md"]
    for spec in dataclasses.fields(Settings):
        assert f"| `REGISTRY_{spec.metadata['env']}` |" in configuration
    cli = written["cli.md"]
    for command in COMMANDS:
        assert f"`registry {command.name}`" in cli
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("-"):
                    assert f"`{opt}`" in cli, f"registry {command.name} {opt}"


def test_a_variable_without_a_meaning_stops_the_reference(monkeypatch):
    monkeypatch.delitem(MEANINGS, "DATABASE")
    with pytest.raises(Exception, match="REGISTRY_DATABASE has no meaning"):
        configuration_page()


def test_readme_is_at_most_300_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines: move detail into docs/"


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _without_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_reach_an_existing_page_and_heading(page):
    problems = []
    for target in LINK.findall(_without_code(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and anchor not in _anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{target}: no heading #{anchor}")
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pages_name_no_missing_module(page):
    problems = stale_mentions(page.read_text(encoding="utf-8").splitlines(), ROOT)
    # registry/data/ is where a wheel carries data/, not a folder of the checkout.
    problems = [p for p in problems if not p.endswith("registry/data/ does not exist")]
    assert not problems, f"{page.relative_to(ROOT)} names what does not exist: {problems}"


def test_the_flags_table_is_the_list_of_flags():
    from registry.compliance.flags import SEVERITY

    text = (DOCS / "compliance.md").read_text(encoding="utf-8")
    section = text.split("\n## The flags\n", 1)[1].split("\n## ", 1)[0]
    documented = dict(re.findall(r"^\| `([A-Z_]+)` \| (error|warning) \|", section, re.MULTILINE))
    assert documented == SEVERITY, "docs/compliance.md's flags table differs from flags.SEVERITY"
