"""NHS number modulus 11 check: known numbers, malformed input, and error-detection properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_svc.domain.nhs_number import is_valid_nhs_number

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
ten_digits = st.text(alphabet="0123456789", min_size=10, max_size=10)


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9999999999", "0000000000"])
def test_valid_numbers(number):
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # last digit off by one
        "9434765910",
        "4010232136",
        "9434765991",  # last two digits swapped
    ],
)
def test_wrong_check_digit(number):
    assert not is_valid_nhs_number(number)


@pytest.mark.parametrize("last", "0123456789")
def test_a_prefix_whose_check_digit_would_be_10_is_never_valid(last):
    # 1*10+2*9+3*8+4*7+5*6+6*5+7*4+8*3+9*2 = 210; 210 % 11 = 1; 11 - 1 = 10
    assert not is_valid_nhs_number("123456789" + last)


@pytest.mark.parametrize(
    "value",
    ["943476591", "94347659190", "", "943 476 5919", "943-476-5919", " 9434765919", "9434765919\n",
     "94347659l9", "٩٤٣٤٧٦٥٩١٩", "９４３４７６５９１９", None, 9434765919],
)
def test_anything_but_ten_ascii_digits_is_refused(value):
    assert not is_valid_nhs_number(value)


def _weighted(number: str) -> int:
    return sum(int(d) * w for d, w in zip(number, range(10, 0, -1), strict=True))


@given(nine_digits)
def test_each_prefix_has_exactly_one_valid_completion_unless_its_check_is_10(prefix):
    valid = [d for d in "0123456789" if is_valid_nhs_number(prefix + d)]
    check = 11 - sum(int(d) * w for d, w in zip(prefix, range(10, 1, -1), strict=True)) % 11
    if check == 10:
        assert valid == []
    else:
        assert valid == [str(check % 11)]


@given(ten_digits)
def test_valid_exactly_when_the_weighted_sum_is_a_multiple_of_11(number):
    assert is_valid_nhs_number(number) == (_weighted(number) % 11 == 0)


@given(nine_digits, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_error_is_caught(prefix, position, delta):
    valid = next((prefix + d for d in "0123456789" if is_valid_nhs_number(prefix + d)), None)
    if valid is None:
        return
    wrong = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1:]
    assert not is_valid_nhs_number(wrong)


@given(nine_digits, st.integers(0, 8))
def test_any_adjacent_transposition_is_caught(prefix, position):
    valid = next((prefix + d for d in "0123456789" if is_valid_nhs_number(prefix + d)), None)
    if valid is None or valid[position] == valid[position + 1]:
        return
    swapped = valid[:position] + valid[position + 1] + valid[position] + valid[position + 2:]
    assert not is_valid_nhs_number(swapped)
