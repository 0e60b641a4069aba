"""The pages' messages: every key in English and Dutch, every key a template uses exists."""

import re
from pathlib import Path

from service.web.i18n import LANGUAGES, catalog_files, catalogs, translator

TEMPLATES = Path(__file__).resolve().parents[2] / "service" / "web" / "templates"
_LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z_]+\.[\w.\-]+)['"]""")


def test_every_area_has_every_key_in_every_language() -> None:
    files = catalog_files()
    areas = {area for area, _ in files}
    for area in areas:
        keys = {language: set(files.get((area, language), {})) for language in LANGUAGES}
        english = keys["en"]
        for language, found in keys.items():
            assert found == english, (area, language, sorted(found ^ english))


def test_no_message_is_empty_and_placeholders_agree_between_languages() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    english, dutch = catalogs()["en"], catalogs()["nl"]
    for key, text in english.items():
        assert text.strip() and dutch[key].strip(), key
        assert set(placeholder.findall(text)) == set(placeholder.findall(dutch[key])), key


def test_every_key_written_in_a_template_exists() -> None:
    english = catalogs()["en"]
    used = {
        key
        for template in TEMPLATES.rglob("*.html")
        for key in _LITERAL_KEY.findall(template.read_text(encoding="utf-8"))
        if not key.endswith((".", "_"))  # a prefix completed in the template
    }
    assert used, "no t('...') found: the pattern no longer matches the templates"
    assert sorted(used - set(english)) == []


def test_a_missing_dutch_message_falls_back_to_english_and_values_fill_in() -> None:
    t = translator("nl")
    assert t("common.signed_in_as", name="A", agency="B") == "Aangemeld als A (B)"
    assert t("no.such.key") == "no.such.key"
