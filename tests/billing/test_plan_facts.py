"""Every plan preset's published facts carry a source, and the limits are never passed off as published."""

from __future__ import annotations

from pathlib import Path

import pytest

from thrifty.billing.plan_presets import ALL_PRESETS, PLAN_FACTS, REQUIRED_TOPICS, facts_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plans.md"


@pytest.mark.parametrize("name", list(ALL_PRESETS))
def test_every_preset_has_a_cited_fact_for_each_topic(name: str) -> None:
    facts = PLAN_FACTS.get(name)
    assert facts is not None, f"preset {name} has no entry in PLAN_FACTS"
    assert facts_for(ALL_PRESETS[name]) is facts
    for topic in REQUIRED_TOPICS:
        cited = facts.about(topic)
        assert cited, f"preset {name}: no cited fact about {topic}"
        for fact in cited:
            assert fact.text.strip()
            assert fact.source.url.startswith("https://"), fact
            assert fact.source.title.strip() and fact.source.checked == "2026-12-06"
    # The name and the fee each have at least one Anthropic source.
    assert any(f.source.anthropic for f in facts.about("name"))
    assert any(f.source.anthropic for f in facts.about("fee"))


@pytest.mark.parametrize("name", list(ALL_PRESETS))
def test_window_sizes_are_not_published_so_presets_are_estimates(name: str) -> None:
    facts = PLAN_FACTS[name]
    assert facts.limits_published is False
    assert ALL_PRESETS[name].estimate is True
    assert any("not published" in f.text for f in facts.about("limits"))


def test_the_2026_rename_is_recorded() -> None:
    assert PLAN_FACTS["max-5x"].anthropic_name == "Max"
    assert PLAN_FACTS["max-20x"].anthropic_name == "Ultra"
    renamed = [f for f in PLAN_FACTS["max-20x"].about("name") if "2026-10-30" in f.text]
    assert renamed and any(not f.source.anthropic for f in renamed)  # the date is third-party
    assert "Ultra" in PLAN_FACTS["max-20x"].about("name")[0].text


def test_every_fee_matches_the_preset() -> None:
    for name, facts in PLAN_FACTS.items():
        fee = ALL_PRESETS[name].monthly_fee_usd
        texts = " ".join(f.text for f in facts.about("fee"))
        assert f"${fee}" in texts or (fee == 0 and "not published" in texts), name


def test_docs_cite_every_source_and_every_preset() -> None:
    text = DOCS.read_text()
    for name, facts in PLAN_FACTS.items():
        assert f"`{name}`" in text
        for fact in facts.facts:
            assert fact.source.url in text, fact.source.url
    assert "not published" in text.lower()
