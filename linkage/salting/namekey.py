"""A coarse, language-neutral sound key of a name word, for salts that must survive typos.

The key is the first three consonant classes of the word: letters that are often confused
in Dutch, Spanish and Portuguese registrations share a class (c, k, q, s, z and x; b and p;
f, v and w; d and t; g and j; m and n), vowels and h are skipped after the first letter, a
leading vowel counts as one class and a leading h is silent, and repeats collapse. So
"Cristina" and "Kristina", "Garcia" and "Garsia", "Perez" and "Peres" share a key, while
most different names do not. Coarse on purpose: a salt only needs to agree between two
records of one person; its many distinct values come from the values it is combined with.
"""

_CLASSES = {
    **dict.fromkeys("aeiouy", "a"),
    **dict.fromkeys("bp", "b"),
    **dict.fromkeys("fvw", "f"),
    **dict.fromkeys("ckqsxz", "k"),
    **dict.fromkeys("dt", "t"),
    **dict.fromkeys("gj", "g"),
    **dict.fromkeys("mn", "n"),
    "l": "l",
    "r": "r",
}
KEY_LENGTH = 3


def _classes(word: str) -> list[str]:
    letters = [letter for letter in word if letter in _CLASSES or letter == "h"]
    if letters and letters[0] == "h":
        letters = letters[1:]  # a leading h is silent (Hernandez, Ernandez)
    out: list[str] = []
    for position, letter in enumerate(letters):
        code = _CLASSES.get(letter)
        if code is None or (code == "a" and position > 0):
            continue  # h inside a word, vowels after the first letter
        if not out or out[-1] != code:
            out.append(code)
    return out


def name_key(word: str) -> str:
    """The sound key of one normalised name word ("" for a word without letters)."""
    return "".join(_classes(word)[:KEY_LENGTH])


def name_initial(word: str) -> str:
    """The class of the word's first sounding letter ("" for a word without letters)."""
    return "".join(_classes(word)[:1])
