"""Invoice identity: the normalized invoice number of DESIGN.md §10, written once.

An invoice number that a clerk reads as the same invoice must give the same fingerprint, or
one invoice can be issued, accepted and financed twice (issue 12: `INV-42`, `INV-42 `, `inv-42`,
`INV-42` with a zero-width space, `INV‑42` with U+2011 and `ＩＮＶ-42` were six invoices). The
rule, in this order:

1. Unicode NFKC: full-width letters and digits, ligatures (`ﬁ`), superscripts, compatibility
   spaces and dashes fold to their plain forms;
2. case folding (`INV` = `inv`, `ß` = `ss`);
3. removal of every whitespace character, format character (category Cf: zero-width space and
   joiners, soft hyphen, word joiner, byte-order mark, bidi marks) and the other
   default-ignorable code points (variation selectors, combining grapheme joiner, Hangul
   fillers), every dash (Unicode's Dash property: hyphens, en and em dashes, minus signs),
   underscore (connector punctuation), dot and slash.

What it does not fold: look-alike letters of other scripts (Cyrillic `І` and Latin `I`), and
letters that merely resemble a dash (the Katakana `ー` is part of words). The document-hash
registry (one invoice per document) backs the fingerprint there.

The result depends on the Unicode database Python ships (`unicodedata.unidata_version`), like
any contract rule depends on its code: every validator of a chain runs the same one.
"""

from __future__ import annotations

import unicodedata

UNICODE_VERSION = "14.0.0"  # Python 3.11; tests/unit/test_invoice_identity.py pins it

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) outside category Cf.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x2065, 0x2065),
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
# Unicode's Dash property beyond category Pd: swung dash, super- and subscript minus, minus.
_DASHES = frozenset("\u2053\u207b\u208b\u2212")
_DOTS = frozenset(
    ".\u00b7\u2027\u2219\u22c5\u2e31\u3002\u30fb"
)  # full stop, middle dot, hyphenation point, bullet and dot operators, word separator,
#    ideographic full stop, Katakana middle dot (NFKC folds their full- and half-width forms)
_SLASHES = frozenset("/\\\u2044\u2215\u29f5\u29f8\u29f9")
# solidus, reverse solidus, fraction slash, division slash, reverse solidus operator, big
# solidus, big reverse solidus (NFKC folds the full-width and small forms into the first two)


def _is_ignorable(point: int) -> bool:
    return any(low <= point <= high for low, high in _IGNORABLE_RANGES)


def is_separator(ch: str) -> bool:
    """Whether `ch` (already NFKC and case folded) carries no identity in an invoice number."""
    category = unicodedata.category(ch)
    return (
        ch.isspace()
        or category in ("Cf", "Pd", "Pc")
        or ch in _DASHES
        or ch in _DOTS
        or ch in _SLASHES
        or _is_ignorable(ord(ch))
    )


def normalize_invoice_number(invoice_no: str) -> str:
    """The invoice number as the fingerprint sees it: `ＩＮＶ‑42 ` -> `inv42`."""
    folded = unicodedata.normalize("NFKC", invoice_no).casefold()
    return "".join(ch for ch in folded if not is_separator(ch))
