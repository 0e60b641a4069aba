"""Errors that make one person's records differ between agencies (typos, sound-alikes...).

Typos, sound-alike spellings, nicknames, dropped names, swapped date parts, mistyped digits.
"""

import random
import re
import unicodedata
from collections.abc import Callable
from datetime import date

from linkage.synth.names import NICKNAMES

# Particles are never distorted: they carry no identity and normalisation drops them.
PARTICLES = frozenset(
    {"de", "la", "las", "los", "del", "da", "das", "do", "dos", "e", "y"}
    | {"van", "der", "den", "de", "ter", "ten", "te", "in", "'t", "op", "het"}
)
# Spellings a clerk hears or writes differently, as (pattern on the lowercase word,
# replacement): y/i, v/b, ll/y, z/s, c/k, h dropped, and a few Dutch and Portuguese ones.
PHONETIC_RULES = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        ("y", "i"), ("i", "y"), ("v", "b"), ("b", "v"), ("ll", "y"), ("y", "ll"),
        ("z", "s"), ("s(?=$|[aeiou])", "z"), ("c(?=[aou])", "k"), ("k", "c"), ("^h", ""),
        ("jh", "j"), ("qu(?=[ei])", "k"), ("ph", "f"), ("th", "t"), ("ij", "y"),
        ("x", "j"), ("g(?=[ei])", "j"), ("ss", "s"), ("ei", "ey"), ("w", "v"),
    )
)  # fmt: skip
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_OCR_CONFUSIONS = {"0": "O", "O": "0", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S"}


def strip_accents(text: str) -> str:
    """Drop accents and other combining marks ("Peña" -> "Pena"), as older systems do."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def distort_one_word(
    rng: random.Random, names: tuple[str, ...], change: Callable[[random.Random, str], str]
) -> tuple[str, ...]:
    """Apply `change` to one randomly chosen word of the names, skipping particles.

    Args:
        rng: The seeded random generator.
        names: Given names or surnames; an entry may hold several words ("de la Cruz").
        change: Turns one word into its distorted form.

    Returns:
        The names with one word changed (unchanged when no word qualifies).
    """
    slots = [
        (entry, position)
        for entry, name in enumerate(names)
        for position, word in enumerate(name.split(" "))
        if word.casefold() not in PARTICLES and len(word) >= 3
    ]
    if not slots:
        return names
    entry, position = rng.choice(slots)
    words = names[entry].split(" ")
    words[position] = change(rng, words[position]) or words[position]
    return (*names[:entry], " ".join(words), *names[entry + 1 :])


def typo(rng: random.Random, word: str) -> str:
    """One keyboard error: a letter substituted, inserted, deleted, or two transposed.

    The first letter is kept: it is the one least often mistyped.
    """
    position = rng.randrange(1, len(word))
    letter = word[position].lower()
    operation = rng.choice(("substitute", "insert", "delete", "transpose"))
    if operation == "substitute":
        return _with_case(word, word[:position] + _neighbour(rng, letter) + word[position + 1 :])
    if operation == "insert":
        return word[:position] + _neighbour(rng, letter) + word[position:]
    if operation == "delete" and len(word) > 3:
        return word[:position] + word[position + 1 :]
    position = min(position, len(word) - 2)  # transpose with the next letter
    return _with_case(
        word, word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    )


def _neighbour(rng: random.Random, letter: str) -> str:
    for row in _KEYBOARD_ROWS:
        index = row.find(letter)
        if index >= 0:
            return rng.choice(row[max(index - 1, 0) : index] + row[index + 1 : index + 2])
    return rng.choice(_KEYBOARD_ROWS[0])


def _with_case(original: str, changed: str) -> str:
    # Keep a capital first letter where the original had one.
    if original[:1].isupper():
        return changed[:1].upper() + changed[1:].lower()
    return changed


def phonetic(rng: random.Random, word: str) -> str:
    """One sound-alike respelling (Yolanda -> Iolanda, Hernández -> Ernández), if any fits."""
    lower = word.lower()
    matches = [
        (match, replacement)
        for pattern, replacement in PHONETIC_RULES
        for match in pattern.finditer(lower)
    ]
    if not matches:
        return word
    match, replacement = rng.choice(matches)
    changed = lower[: match.start()] + replacement + lower[match.end() :]
    return _with_case(word, changed) if len(changed) >= 2 else word


def nickname(rng: random.Random, given_names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The name someone goes by instead of their given names (José -> Pepe), if known."""
    for name in given_names:
        options = NICKNAMES.get(name)
        if options:
            return (rng.choice(options),)
    return None


def swap_day_month(day: date) -> date | None:
    """The date with day and month swapped, when that is another real date."""
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)


def date_error(rng: random.Random, day: date) -> date:
    """A data-entry error in a date: year, month or day off by one, or day digits swapped."""
    candidates = [
        (day.year + rng.choice((-1, 1)), day.month, day.day),
        (day.year, day.month + rng.choice((-1, 1)), day.day),
        (day.year, day.month, day.day + rng.choice((-1, 1))),
        (day.year, day.month, int(f"{day.day:02d}"[::-1])),
        (day.year + rng.choice((-10, 10)), day.month, day.day),
    ]
    year, month, day_of_month = rng.choice(candidates)
    try:
        changed = date(year, month, day_of_month)
    except ValueError:
        return day
    return changed if 1931 <= changed.year <= 2007 else day


def digit_typo(rng: random.Random, number: str, *, keep: int) -> str:
    """A mistyped or transposed digit, after the first `keep` characters."""
    positions = [index for index, char in enumerate(number) if char.isdigit() and index >= keep]
    if len(positions) < 2:
        return number
    index = rng.choice(positions[:-1])
    digits = list(number)
    if rng.random() < 0.5:
        digits[index] = rng.choice([digit for digit in "0123456789" if digit != number[index]])
    else:
        following = positions[positions.index(index) + 1]
        digits[index], digits[following] = digits[following], digits[index]
    return "".join(digits)


def document_error(rng: random.Random, document: str) -> str:
    """A misread document number: O/0, I/1, B/8 confused, or a mistyped digit."""
    confusable = [index for index, char in enumerate(document) if char in _OCR_CONFUSIONS]
    if confusable and rng.random() < 0.5:
        index = rng.choice(confusable)
        return document[:index] + _OCR_CONFUSIONS[document[index]] + document[index + 1 :]
    return digit_typo(rng, document, keep=0)


def split_word(rng: random.Random, word: str) -> str:
    """A space slipped into a name ("Fernandez" -> "Fer nandez"); short words stay."""
    if len(word) < 6:
        return word
    position = rng.randrange(3, len(word) - 2)
    return word[:position] + " " + word[position:]


def loose_phone(rng: random.Random, written: str) -> str:
    """A phone number as written by someone in a hurry: it fails strict validation.

    A digit dropped or doubled, the trunk or country prefix lost, a note around it, or a
    second number in the same cell. Some of these can still be read; some cannot.
    """
    digits = [index for index, char in enumerate(written) if char.isdigit()]
    if len(digits) < 6:
        return written
    kind = rng.choice(("drop", "double", "bare", "note", "second"))
    if kind == "drop":
        index = rng.choice(digits[3:])
        return written[:index] + written[index + 1 :]
    if kind == "double":
        index = rng.choice(digits[3:])
        return written[:index] + written[index] + written[index:]
    if kind == "bare":  # the national number without any prefix
        bare = "".join(written[i] for i in digits)
        for prefix in ("0031", "31", "0032", "32", "0"):
            if bare.startswith(prefix) and len(bare) - len(prefix) >= 8:
                return bare[len(prefix) :]
        return bare[1:]
    if kind == "note":
        return rng.choice(("tel. {}", "{} (mob)", "GSM {}", "{} whatsapp")).format(written)
    other = "06" + "".join(rng.choice("0123456789") for _ in range(8))
    return f"{written} / {other}"
