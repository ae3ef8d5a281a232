import pytest
from hypothesis import given
from hypothesis import strategies as st

from wufei.core.ids import (
    USCC_CHARSET,
    InvalidIdentifier,
    is_valid_uscc,
    make_uscc,
    uscc_check_character,
    validate_plate,
    validate_uscc,
)

pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize("code", ["91130200699229617X", "91512081MA62K0260E", "91350100M000100Y43"])
def test_published_valid_usccs(code):
    assert validate_uscc(code) == code


def test_worked_example_with_wrong_check_character_names_the_expected_one():
    with pytest.raises(InvalidIdentifier, match="expected 3"):
        validate_uscc("91350100M000100Y44")
    with pytest.raises(InvalidIdentifier, match="not allowed"):  # Z is outside the charset altogether
        validate_uscc("91350100M000100Y4Z")


@pytest.mark.parametrize("code, message", [
    ("9135010", "18 characters"),
    ("91350100M000100YI3", "not allowed"),  # I is not in the GB 32100 charset
    ("", "18 characters"),
])
def test_malformed_usccs_name_the_defect(code, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validate_uscc(code)


def test_lowercase_input_is_normalized():
    assert validate_uscc(" 91130200699229617x ") == "91130200699229617X"


body17 = st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17)


@given(body17)
def test_appending_the_check_character_always_validates(first17):
    assert is_valid_uscc(first17 + uscc_check_character(first17))


@given(body17, st.integers(min_value=0, max_value=16), st.sampled_from(USCC_CHARSET))
def test_any_single_substitution_is_caught(first17, position, replacement):
    code = first17 + uscc_check_character(first17)
    altered = code[:position] + replacement + code[position + 1:]
    # mod-31 weights are all non-zero mod a prime, so one changed character always changes the sum
    assert is_valid_uscc(altered) == (altered == code)


def test_make_uscc_builds_valid_codes():
    code = make_uscc("91", "500113", "MA5U00001")
    assert code[2:8] == "500113" and is_valid_uscc(code)


@pytest.mark.parametrize("plate, expected", [
    ("渝A12345", "渝A12345"), ("渝F·D1234", "渝FD1234"), ("川a 9k88挂", "川A9K88挂"),
])
def test_plates(plate, expected):
    assert validate_plate(plate) == expected


@pytest.mark.parametrize("plate", ["A12345", "渝112345", "渝A1234", "渝AI2345"])
def test_bad_plates(plate):
    with pytest.raises(InvalidIdentifier):
        validate_plate(plate)
