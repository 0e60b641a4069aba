"""One word for a set of records judged to be one person: "hit", in every help text.

The hub's API says hits; the command line says so too, and never "group" for them. Other
groups keep their names where a qualifier says which they are: the records sharing a
salt slot value (`batch risk`) and near-duplicate records (a probing control).
"""

import argparse
import re
from collections.abc import Iterator

from linkage.cli import parser

_GROUP = re.compile(r"\bgroups?\b")
_QUALIFIED = re.compile(r"equal-slot groups?|near-duplicate groups?|groups? of records sharing")


def _help_texts(command: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, str]]:
    yield path, command.description or ""
    for action in command._actions:
        yield path, str(action.help or "")
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"{path} {choice.dest}", str(choice.help or "")
            for name, sub in action.choices.items():
                yield from _help_texts(sub, f"{path} {name}")


def test_no_help_text_calls_a_hit_a_group() -> None:
    texts = list(_help_texts(parser(), "fieldlink"))
    unqualified = [(path, text) for path, text in texts if _GROUP.search(_QUALIFIED.sub("", text))]

    assert len(texts) > 300  # every command and option was looked at
    assert unqualified == []
