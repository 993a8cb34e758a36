"""What the package index shows: metadata, and README links that work there.

The index page renders the README with the substitutions in pyproject.toml applied; a relative
link (``docs/sdk.md``) or an in-page anchor would be dead there, and a link out of the repository
(``../shared/...``) is dead everywhere. These tests apply the same substitutions and follow each
link back into this checkout.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def index_readme() -> str:
    """The README as the package index receives it."""
    hook = pyproject()["tool"]["hatch"]["metadata"]["hooks"]["fancy-pypi-readme"]
    text = "".join((ROOT / fragment["path"]).read_text() for fragment in hook["fragments"])
    for sub in hook["substitutions"]:
        text = re.sub(sub["pattern"], sub["replacement"], text)
    return text


def github_slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_readme_link_resolves_into_the_repository() -> None:
    repo = pyproject()["project"]["urls"]["Repository"]
    headings = {
        github_slug(line.lstrip("#"))
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("#")
    }
    links = LINK.findall(index_readme())
    assert links, "the README has links; the pattern must find them"
    for link in links:
        assert link.startswith(repo), f"{link} is dead on the package index or leaves the repository"
        rest = link.removeprefix(repo)
        if rest.startswith("#"):
            assert rest[1:] in headings, f"{link}: no such heading in README.md"
        else:
            path = rest.removeprefix("/blob/main/").removeprefix("/tree/main/")
            assert (ROOT / path).exists(), f"{link}: {path} is not in the repository"


def test_the_readme_points_at_nothing_outside_the_repository() -> None:
    text = (ROOT / "README.md").read_text()
    assert "../" not in text


def test_metadata_names_urls_classifiers_and_a_license_file() -> None:
    project = pyproject()["project"]
    assert {"Homepage", "Repository", "Documentation", "Issues"} <= set(project["urls"])
    for url in project["urls"].values():
        assert url.startswith(project["urls"]["Repository"])
    classifiers = project["classifiers"]
    minimum = project["requires-python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {minimum}" in classifiers
    assert "Typing :: Typed" in classifiers and (ROOT / "src/thrifty/py.typed").exists()
    assert all((ROOT / name).exists() for name in project["license-files"])
    # PEP 639: the license expression replaces license classifiers, which the index now refuses.
    assert not [c for c in classifiers if c.startswith("License ::")]
