"""The pages' words in English and Dutch: message catalogs, the chosen language, `t()`.

Catalogs are flat JSON files in `messages/`, one per area and language
(`common.en.json`, `analyst.nl.json`, ...), so areas are edited independently. Every key
of a file starts with its area's name (`analyst.hits.title`); a key in one language's file
must be in the other's too (tests/web/test_i18n.py). English is the default; the browser's
choice is kept in a cookie (`LANGUAGE_COOKIE`), never in the session: it is chosen on the
sign-in page already.

Messages may hold `{name}` placeholders, filled by `t(key, name=value)`; values are
escaped by the templates like any other text.
"""

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from starlette.requests import Request

MESSAGES_DIR = Path(__file__).parent / "messages"
LANGUAGES = ("en", "nl")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "fieldlink_lang"
LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands"}  # each in its own language

Translate = Callable[..., str]


class CatalogError(ValueError):
    """A message file is malformed or holds a key outside its area."""


@cache
def catalogs() -> Mapping[str, Mapping[str, str]]:
    """Every message by language, merged from all areas' files (read once)."""
    merged: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for path in sorted(MESSAGES_DIR.glob("*.json")):
        area, language = _area_and_language(path)
        for key, text in _read(path).items():
            if not key.startswith(f"{area}."):
                raise CatalogError(f"{path.name}: key {key!r} does not start with {area!r}.")
            merged[language][key] = text
    return merged


def catalog_files() -> dict[tuple[str, str], dict[str, str]]:
    """Each file's messages by (area, language): what the completeness test compares."""
    return {_area_and_language(path): _read(path) for path in sorted(MESSAGES_DIR.glob("*.json"))}


def _area_and_language(path: Path) -> tuple[str, str]:
    area, _, language = path.stem.rpartition(".")
    if not area or language not in LANGUAGES:
        raise CatalogError(f"{path.name}: name it AREA.LANGUAGE.json, language one of {LANGUAGES}")
    return area, language


def _read(path: Path) -> dict[str, str]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not all(
        isinstance(key, str) and isinstance(text, str) for key, text in document.items()
    ):
        raise CatalogError(f"{path.name}: a flat object of strings is expected")
    return document


def language_of(request: Request) -> str:
    """The language the browser chose, or English."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str) -> Translate:
    """`t(key, **values)` in this language; English where a message is missing, else the key."""
    own, fallback = catalogs()[language], catalogs()[DEFAULT_LANGUAGE]

    def t(key: str, /, **values: object) -> str:
        text = own.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t
