"""The text-field policy of contract v1.1 (eoc_shared.text), one rule at a time."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from eoc_shared.text import BIDI_CONTROLS, Prose, Text


class Form(BaseModel):
    name: Text
    note: Prose = ""


@pytest.mark.parametrize("char", [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + sorted(BIDI_CONTROLS)
                         + ["\ud800", "\udfff", "\u2028", "\u2029"])
def test_a_one_line_field_refuses_controls_bidi_overrides_surrogates_and_separators(char: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Form(name=f"Ann{char}a")
    assert caught.value.errors()[0]["loc"] == ("name",)
    if not 0xD800 <= ord(char) <= 0xDFFF:  # pydantic refuses a lone surrogate itself, before the policy
        assert f"U+{ord(char):04X}" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85", "\u202e", "\r", "\ud800"])
def test_prose_refuses_controls_other_than_newline_and_tab(char: str) -> None:
    with pytest.raises(ValidationError):
        Form(name="a", note=f"one{char}two")


def test_prose_keeps_newline_and_tab_and_reads_crlf_as_lf() -> None:
    assert Form(name="a", note="one\r\n\ttwo\nthree").note == "one\n\ttwo\nthree"


def test_text_is_stored_in_nfc_and_keeps_right_to_left_scripts_and_marks() -> None:
    assert Form(name="Zoe\u0301").name == "Zo\u00e9"
    assert Form(name="\u0639\u0644\u064a\u200f").name == "\u0639\u0644\u064a\u200f"


@pytest.mark.parametrize("value", ["", "   ", "x" * 201, 5, None])
def test_blank_overlong_and_non_strings_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        Form(name=value)
