"""Rounding rules the finance team and the board rely on: half up, exact, and only at the end."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from finance_svc.domain.money import (
    format_percent,
    format_pounds,
    format_share,
    pct_of_target,
    round_half_up,
    share,
    to_decimal,
    to_pounds,
)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("2.345", "2.35"),
        ("2.335", "2.34"),
        ("2.3449999", "2.34"),
        ("0.005", "0.01"),
        ("-0.005", "-0.01"),
        ("-1.234", "-1.23"),
        ("10", "10.00"),
        ("215965.025", "215965.03"),
    ],
)
def test_to_pounds_rounds_half_up_to_the_penny(amount: str, expected: str) -> None:
    result = to_pounds(Decimal(amount))
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


def test_to_pounds_is_exact_for_fractions_that_decimal_cannot_hold() -> None:
    assert to_pounds(Fraction(1, 3)) == Decimal("0.33")
    assert to_pounds(Fraction(2, 3)) == Decimal("0.67")
    assert to_pounds(Fraction(1, 200)) == Decimal("0.01")


def test_round_half_up_whole_numbers() -> None:
    assert round_half_up(Decimal("12.5"), 0) == Decimal(13)
    assert round_half_up(Decimal("-12.5"), 0) == Decimal(-13)
    assert round_half_up(Decimal("-0.4"), 0) == Decimal(0)


@pytest.mark.parametrize(
    ("actual", "target", "expected"),
    [
        (4, 32, 13),
        (5, 8, 63),
        (1, 8, 13),
        (3, 8, 38),
        (Decimal("1197200.00"), Decimal("1500000"), 80),
        (0, 10, 0),
        (15, 10, 150),
        (Decimal("0.995"), Decimal("1"), 100),
    ],
)
def test_pct_of_target_is_a_whole_number_rounded_half_up(
    actual: Decimal | int, target: Decimal | int, expected: int
) -> None:
    result = pct_of_target(actual, target)
    assert result == expected
    assert isinstance(result, int)


@pytest.mark.parametrize("target", [0, Decimal("0.00"), None])
def test_pct_of_target_without_a_target_is_none(target: Decimal | int | None) -> None:
    assert pct_of_target(5, target) is None


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (4, 5, "0.8000"),
        (2, 3, "0.6667"),
        (1, 3, "0.3333"),
        (1, 32, "0.0313"),
        (3, 32, "0.0938"),
        (0, 7, "0.0000"),
        (7, 7, "1.0000"),
    ],
)
def test_share_is_a_fraction_rounded_half_up_to_four_places(numerator: int, denominator: int, expected: str) -> None:
    result = share(numerator, denominator)
    assert result == Decimal(expected)
    assert result is not None and result.as_tuple().exponent == -4


def test_share_of_nothing_is_none() -> None:
    assert share(0, 0) is None
    assert share(3, Decimal(0)) is None


def test_to_decimal_refuses_what_cannot_be_money() -> None:
    with pytest.raises(TypeError):
        to_decimal(True)
    with pytest.raises(ValueError):
        to_decimal("NaN")
    with pytest.raises(ValueError):
        to_decimal(Decimal("Infinity"))
    with pytest.raises(TypeError):
        to_decimal([1])  # type: ignore[arg-type]
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(" 12.50 ") == Decimal("12.50")


def test_formatting_for_the_board() -> None:
    assert format_pounds(Decimal("1234.5")) == "£1,234.50"
    assert format_pounds(Decimal("1234.565")) == "£1,234.57"
    assert format_pounds(Decimal("-50796.35")) == "-£50,796.35"
    assert format_pounds(0) == "£0.00"
    assert format_pounds(None) == "not available"
    assert format_share(Decimal("0.6667")) == "66.7%"
    assert format_share(Decimal("0.8")) == "80.0%"
    assert format_share(Decimal("0.33335")) == "33.3%"
    assert format_share(Decimal("0.00125")) == "0.1%"
    assert format_share(None) == "not available"
    assert format_percent(13) == "13%"
    assert format_percent(None) == "no target"
