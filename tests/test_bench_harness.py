"""The benchmark harness's command line: data sizes (`--size`)."""

from __future__ import annotations

import pytest

from benchmarks.harness import SIZES, UnknownSize, main, parse_sizes


def test_sizes_default_to_all_smallest_first() -> None:
    assert parse_sizes(None) == ["10k", "100k", "1m"]
    assert SIZES == {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def test_sizes_asked_for_run_smallest_first_once() -> None:
    assert parse_sizes(["1M", "10k", "1m"]) == ["10k", "1m"]


def test_an_unknown_size_is_named() -> None:
    with pytest.raises(UnknownSize) as raised:
        parse_sizes(["10k", "5k"])
    assert raised.value.names == ["5k"]
    assert "'5k'" in str(raised.value) and "10k, 100k, 1m" in str(raised.value)


def test_an_unknown_size_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--size", "100k", "--size", "2m"]) == 2
    assert "unknown size '2m'" in capsys.readouterr().err
