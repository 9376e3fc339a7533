"""Number phrases in English prompts: digits ("2,000", "1.5k", "50ish") and number words ("two hundred and
fifty", "a dozen"), as a pattern (:data:`NUMBER`) and as values (:func:`parse_number`). Every English length
reader (:mod:`sagepred.length_instructions`, :mod:`sagepred.length_plans`) counts with them."""

from __future__ import annotations

import re

_SMALL = {
    "zero": 0, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "dozen": 12, "couple": 2, "few": 3,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "k": 1000}
_NUMBER_WORD = "|".join(sorted([*_SMALL, *_SCALES], key=len, reverse=True))
DIGITS = r"\d{1,3}(?:,\d{3})+|\d{1,3}(?:[.\u00a0\u202f]\d{3})+(?![\d.,])|\d+(?:\.\d+)?k?(?:-?ish\b)?"
NUMBER = rf"(?:(?:{DIGITS})|(?:(?:an? )?(?:{_NUMBER_WORD})(?:[ -](?:and[ -])?(?:{_NUMBER_WORD})){{0,7}}))"
"""A number phrase: digits (``2,000``, ``2.000`` and ``2 000`` as thousands, ``1.5k``) or number words
(``two hundred and fifty``)."""
_THOUSANDS = re.compile(r"\d{1,3}(?:[,.\u00a0\u202f]\d{3})+")


def parse_number(text: str) -> float | None:
    """A number phrase as a value: ``"2,000"`` → 2000, ``"1.5k"`` → 1500, ``"two hundred and fifty"`` → 250."""
    phrase = re.sub(r"-?ish$", "", text.strip().lower().replace("–", "-"))  # "50ish"
    if not phrase:
        return None
    if phrase[0].isdigit():
        if _THOUSANDS.fullmatch(phrase):
            return float(re.sub(r"\D", "", phrase))
        scale = 1000.0 if phrase.endswith("k") else 1.0
        try:
            return float(phrase.rstrip("k").replace(",", "")) * scale
        except ValueError:
            return None
    total, current = 0.0, 0.0
    for word in re.split(r"[ -]+", phrase):
        if word in ("and", "a", "an"):
            continue
        if word in _SMALL:
            current += _SMALL[word]
        elif word in _SCALES:
            current = max(current, 1.0) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0.0
        else:
            return None
    return total + current
