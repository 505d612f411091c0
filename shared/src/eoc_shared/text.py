"""The text-field policy of contract v1.1, written once for every request schema of every service.

A text field is stored in Unicode NFC and refuses what would let a value hide or rewrite what a
person reads (bidi overrides and isolates, U+202E among them), break a log line or a CSV export
(C0 and C1 controls, DEL), or fail in the database (NUL, which PostgreSQL cannot store; lone
surrogates, which no encoding can). Single-line fields (`Text`) also refuse newline and tab;
multi-line prose (`Prose`: a summary, a basis, an explanation) keeps newline and tab, and a CRLF
is kept as LF. The OpenAPI documents mark each such field (`x-text: line` or `prose`), so a test can
find every text field of every endpoint without a list kept by hand.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr

#: embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder what is displayed
BIDI_CONTROLS = frozenset({*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))})
#: line and paragraph separators: a line break by another name
LINE_SEPARATORS = frozenset({"\u2028", "\u2029"})
PROSE_WHITESPACE = frozenset({"\n", "\t"})

TEXT_MAX = 200
PROSE_MAX = 4000


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def refusal(value: str, *, multiline: bool) -> str | None:
    """Why `value` is refused as a text field, or None when it is acceptable (pure; used by both types)."""
    for position, char in enumerate(value):
        code = ord(char)
        if multiline and char in PROSE_WHITESPACE:
            continue
        if code < 0x20 or 0x7F <= code <= 0x9F:
            kind = "a control character" if char not in "\n\t\r" else "a line break or tab (this field is one line)"
            return f"must not contain {kind} ({_describe(char)} at position {position})"
        if char in BIDI_CONTROLS:
            return f"must not contain a bidirectional override or isolate ({_describe(char)} at position {position})"
        if 0xD800 <= code <= 0xDFFF:
            return f"must not contain a lone surrogate ({_describe(char)} at position {position})"
        if not multiline and char in LINE_SEPARATORS:
            return f"must not contain a line separator (this field is one line; {_describe(char)} at position {position})"
    return None


def clean_text(value: str) -> str:
    """A single-line text field: no controls at all, not blank, stored in NFC."""
    # Printable ASCII (the usual case) has no control, override, surrogate or separator and is NFC already.
    if not (value.isascii() and value.isprintable()):
        reason = refusal(value, multiline=False)
        if reason:
            raise ValueError(reason)
        value = unicodedata.normalize("NFC", value)
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def not_blank(value: str) -> str:
    """For a prose field that must say something: `Annotated[Prose, AfterValidator(not_blank)]`."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def clean_prose(value: str) -> str:
    """Multi-line prose: newline and tab allowed (CRLF kept as LF), other controls refused, stored in NFC."""
    if value.isascii() and value.isprintable():
        return value  # nothing to refuse, already NFC: the scan below is for the other texts
    value = value.replace("\r\n", "\n")
    reason = refusal(value, multiline=True)
    if reason:
        raise ValueError(reason)
    return unicodedata.normalize("NFC", value)


#: a name, a reference, a code chosen by a person: one line, 1–200 characters
Text = Annotated[StrictStr, Field(min_length=1, max_length=TEXT_MAX, json_schema_extra={"x-text": "line"}),
                 AfterValidator(clean_text)]
#: a summary, a basis, an explanation: newline and tab allowed, up to 4,000 characters
Prose = Annotated[StrictStr, Field(max_length=PROSE_MAX, json_schema_extra={"x-text": "prose"}),
                  AfterValidator(clean_prose)]
#: Narrow a bound where a column is shorter: `Annotated[Text, Field(max_length=64)]`.
#: an identifier of another system (la_child_id, la_reference, external_id): one line, 1–128 characters
Reference = Annotated[StrictStr, Field(min_length=1, max_length=128, json_schema_extra={"x-text": "line"}),
                      AfterValidator(clean_text)]
