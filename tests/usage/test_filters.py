from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from thrifty.usage.filters import FilterError, parse_bound, parse_timezone, project_candidates

NOW = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


def since(text: str, tz=UTC) -> datetime:
    return parse_bound(text, flag="--since", tz=tz, now=NOW)


def until(text: str, tz=UTC) -> datetime:
    return parse_bound(text, flag="--until", tz=tz, now=NOW, end=True)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone, for the tz=None (system local) paths."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_dates_in_both_spellings_mean_midnight_in_the_zone() -> None:
    assert since("2025-03-01") == datetime(2025, 3, 1, tzinfo=UTC)
    assert since("20250301") == datetime(2025, 3, 1, tzinfo=UTC)
    assert since("2025-03-01", TOKYO) == datetime(2025, 2, 28, 15, tzinfo=UTC)


def test_until_date_covers_the_whole_day() -> None:
    assert until("2025-03-01") == datetime(2025, 3, 2, tzinfo=UTC)
    assert until("20250228") == datetime(2025, 3, 1, tzinfo=UTC)
    assert until("2025-03-01", TOKYO) == datetime(2025, 3, 1, 15, tzinfo=UTC)


def test_iso_times_keep_their_offset_or_take_the_zone() -> None:
    assert since("2025-03-01T10:00:00+02:00") == datetime(2025, 3, 1, 8, tzinfo=UTC)
    assert since("2025-03-01T10:00:00Z", TOKYO) == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert since("2025-03-01T10:00", TOKYO) == datetime(2025, 3, 1, 1, tzinfo=UTC)
    assert since("2025-03-01 10:00:30") == datetime(2025, 3, 1, 10, 0, 30, tzinfo=UTC)
    # A time is already precise: --until does not stretch it to the end of the day.
    assert until("2025-03-01T10:00Z") == datetime(2025, 3, 1, 10, tzinfo=UTC)


def test_relative_forms_count_back_from_now() -> None:
    assert since("7d") == NOW - timedelta(days=7)
    assert since("24h") == NOW - timedelta(hours=24)
    assert since("2w") == NOW - timedelta(weeks=2)
    assert until(" 1D ") == NOW - timedelta(days=1)
    assert since("0h") == NOW


def test_results_are_utc() -> None:
    assert since("2025-03-01", TOKYO).tzinfo is UTC
    assert since("2025-03-01T10:00+02:00").tzinfo is UTC


@pytest.mark.parametrize("text", ["xyz", "", "2025-13-01", "2025031", "7x", "d7", "2025/03/01", "-7d"])
def test_unreadable_values_give_one_line(text: str) -> None:
    with pytest.raises(FilterError) as info:
        since(text)
    assert str(info.value) == f"--since: cannot read '{text}'; use YYYY-MM-DD, an ISO time, or 7d/24h"


def test_error_names_the_flag() -> None:
    with pytest.raises(FilterError, match=r"^--until: cannot read 'soon'"):
        until("soon")


def test_local_zone_follows_daylight_saving(new_york: None) -> None:
    assert since("2025-01-15", None) == datetime(2025, 1, 15, 5, tzinfo=UTC)
    assert since("2025-07-01", None) == datetime(2025, 7, 1, 4, tzinfo=UTC)
    # 2025-03-09 is the spring-forward day: it starts at EST and ends at EDT.
    assert until("2025-03-09", None) == datetime(2025, 3, 10, 4, tzinfo=UTC)


def test_parse_timezone() -> None:
    assert parse_timezone(None) is None
    assert parse_timezone("local") is None
    assert parse_timezone("UTC") is UTC
    assert parse_timezone("utc") is UTC
    assert parse_timezone("Europe/Paris") == ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd", "America"])
def test_unknown_timezone_is_one_line(name: str) -> None:
    with pytest.raises(FilterError, match=r"^--timezone: unknown zone"):
        parse_timezone(name)


def test_project_name_matches_itself_only(tmp_path: Path) -> None:
    assert project_candidates("billing-service", tmp_path) == {"billing-service"}


def test_project_path_also_matches_its_resolved_form(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    resolved = str((tmp_path / "app").resolve())
    assert project_candidates(".", tmp_path / "app") == {".", resolved}
    assert project_candidates("./app", tmp_path) == {"./app", resolved}
    assert project_candidates("app", tmp_path) == {"app", resolved}
    assert project_candidates(resolved, Path("/")) == {resolved}


def test_project_home_path_expands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert str((tmp_path / "code").resolve()) in project_candidates("~/code", Path("/"))
