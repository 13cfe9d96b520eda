"""Field validators shared by schemas (USCC, sector codes, plain text)."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import ValidationError, fields, validate

from inspect_core import uscc as uscc_mod
from inspect_core.sectors import unknown_sectors

#: the largest row id: primary keys are INTEGER, 32-bit signed on PostgreSQL.  A larger
#: number can name no row; passed on, it overflowed SQLite's driver (a 500).
MAX_ID = 2**31 - 1


class RowId(fields.Integer):
    """A row id from a client (``?run=``, ``?plan=``): 1 … :data:`MAX_ID`, else a 422
    naming the field, instead of a driver overflow."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "validate",
            validate.Range(
                min=1, max=MAX_ID, error="must be an id from 1 to {max} / 须为1至{max}的编号"
            ),
        )
        super().__init__(**kwargs)


class USCCField(fields.String):
    """A USCC, normalised (full-width folded, upper-cased) and checked against GB 32100."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # documented: 18 characters at least (separators are allowed and dropped)
        self.metadata.setdefault("minLength", 18)
        self.metadata.setdefault(
            "description", "统一社会信用代码 (GB 32100-2015, check digit verified)"
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return uscc_mod.validate(text)
        except uscc_mod.InvalidUSCC as exc:
            raise ValidationError(f"invalid USCC: {exc.reason} / {exc.reason_zh}") from None


class FullMatch(validate.Regexp):
    """:class:`~marshmallow.validate.Regexp` over the whole text: its ``re.match`` lets a
    pattern's ``$`` match before a final newline, so ``"CQ-0001\\n"`` passed as a badge
    (a second CQ-0001 that prints as the first; 33 characters in a String(32), a 500 on
    PostgreSQL).  The pattern is still documented as it is."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


#: characters that show nothing beyond Unicode's format characters (category Cf: U+200B,
#: U+200D, U+FEFF, the bidi controls …): the Hangul fillers, the combining grapheme joiner,
#: the variation selectors and the braille blank
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)
#: format characters that do show a sign (Arabic number signs, end of ayah …)
_VISIBLE_FORMAT = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"
)

#: bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they
#: reorder the text around them as it is shown, so "Trojan Source" text (CVE-2021-42574)
#: reads on a public page, an export or the audit log otherwise than it is stored and
#: searched.  Nothing an office types in Chinese or English needs one.  The marks U+200E and
#: U+200F are taken: they only lend a direction to the neutral characters beside them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BIDI_REASON = "must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)"
CONTROL_REASON = "must not contain control characters"


REGION_COMMA_REASON = "must not contain a comma (',')"


def validate_region(region: str) -> None:
    """A region (街镇) is a field of the draw's published pool snapshot, whose lists are
    joined by commas: a region with one made every freeze of a pool holding it a 500."""
    if "," in region:
        raise ValidationError(REGION_COMMA_REASON)


def shows_nothing(text: str) -> bool:
    """``text`` is only characters that show nothing: white space, format characters
    (zero-width space and joiners, BOM, bidi controls …) and fillers (:data:`_INVISIBLE`)."""
    return all(
        ch.isspace()
        or ch in _INVISIBLE
        or (unicodedata.category(ch) == "Cf" and ch not in _VISIBLE_FORMAT)
        for ch in text
    )


def _edge_format(ch: str) -> bool:
    return ch.isspace() or (unicodedata.category(ch) == "Cf" and ch not in _VISIBLE_FORMAT)


def _trim_format(text: str) -> str:
    """``text`` without the format characters at its ends (a zero-width space or a BOM
    pasted with a name): they show nothing there, and kept they made "重庆某公司" and
    "\u200b重庆某公司" two names that read alike but never match a search or each other.
    Inside the text they stay (a joiner in an emoji), as do the fillers and variation
    selectors of :data:`_INVISIBLE` (U+FE0F ends an emoji)."""
    start, end = 0, len(text)
    while start < end and _edge_format(text[start]):
        start += 1
    while end > start and _edge_format(text[end - 1]):
        end -= 1
    return text[start:end]


class CleanString(fields.String):
    """Trimmed, NFC-normalised text; blank is refused unless ``allow_blank`` (a text of
    only invisible characters, such as U+200B or U+FEFF, is blank: it showed as nothing);
    format characters at its ends are trimmed with the white space.
    Control characters and bidi controls (:data:`BIDI_CONTROLS`) are refused."""

    def __init__(self, *args: Any, allow_blank: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_blank = allow_blank
        if not allow_blank:
            self.metadata.setdefault("minLength", 1)  # documented: blank is refused

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = unicodedata.normalize("NFC", super()._deserialize(value, attr, data, **kwargs))
        text = text.strip()
        if shows_nothing(text):  # "" too; else stops at the first visible character
            if not self.allow_blank:
                raise ValidationError("must not be blank")
            return ""
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            raise ValidationError(CONTROL_REASON)
        if not text.isascii() and not BIDI_CONTROLS.isdisjoint(text):
            raise ValidationError(BIDI_REASON)
        return text if text.isascii() else _trim_format(text)


def validate_sector_filter(code: str) -> None:
    """A ``?sector=`` filter names a catalogue sector: an unknown code (a typo) matched
    nothing and answered an empty list, as if the district had no such enterprise."""
    if code and unknown_sectors([code]):  # empty: no filter, as a form sends an unset one
        shown = code if len(code) <= 40 else f"{code[:40]}…"  # a long one is not echoed whole
        raise ValidationError(f"unknown sector code: {shown}")


def validate_sectors(codes: list[str]) -> None:
    """Every code must be in the sector catalogue (configured or declared by a plugin)."""
    if not codes:
        raise ValidationError("at least one sector code")
    unknown = unknown_sectors(codes)
    if unknown:
        raise ValidationError(f"unknown sector code(s): {', '.join(unknown)}")
    if len(set(codes)) != len(codes):
        raise ValidationError("sector codes repeat")
