"""Hits: groups of records from several agencies that belong to one person (JSON file).

Also what changed between two runs' hits (`compare_hits`), judged by the records they hold.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkage.errors import LinkageError

HITS_FORMAT = "fieldlink-hits/1"


@dataclass(frozen=True, slots=True)
class Member:
    """One record in a group: which agency holds it, under which pseudonymous reference."""

    agency: str
    reference: str


@dataclass(frozen=True, slots=True)
class Link:
    """A scored pair inside a group, by member positions."""

    left: int
    right: int
    score: float
    agreed: tuple[str, ...] = ()  # comparisons that agreed (field scoring), never values
    # Field scoring: "FAMILY:DIGITS", the salt family that scored the link (empty for an
    # unsalted run) and the level each comparison reached, one digit each in layout order
    # (0 missing; the run's report names the levels: `MatchReport.comparison_levels`).
    levels: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """Records judged to be one person; `agencies` is the sorted set of their agencies."""

    members: tuple[Member, ...]
    links: tuple[Link, ...]
    # Comparisons that agreed on some link, in order of first mention (`agreed_on`): names
    # only, why a hit was made, never what the records hold. A group keeps them itself,
    # as the hub's exports carry them per group, not per link.
    agreed_fields: tuple[str, ...] = ()
    # A data officer's export shows only the own agency's members and the links between
    # them: the other agencies of the group by name, and the group's best score.
    unshown_agencies: tuple[str, ...] = ()
    best_score: float | None = None  # None: the best of `links`
    number: int | None = None  # the hub's hit number; None: the group's place in its file

    @property
    def agencies(self) -> tuple[str, ...]:
        """The distinct agencies holding a record of this group, sorted."""
        shown = {member.agency for member in self.members}
        return tuple(sorted(shown.union(self.unshown_agencies)))

    @property
    def score(self) -> float:
        """The group's best link score."""
        if self.best_score is not None:
            return self.best_score
        return max((link.score for link in self.links), default=0.0)


def agreed_on(links: tuple[Link, ...]) -> tuple[str, ...]:
    """The comparisons that agreed on some of the links, in order of first mention."""
    return tuple(dict.fromkeys(name for link in links for name in link.agreed))


@dataclass(frozen=True, slots=True)
class Hits:
    """The outcome of a matching run: groups spanning at least `min_agencies` agencies."""

    threshold: float
    min_agencies: int
    groups: tuple[Group, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON document written by `write_hits`."""
        return self.head_json() | {"groups": list(self.groups_json())}

    def head_json(self) -> dict[str, Any]:
        """The document without its groups."""
        return {
            "format": HITS_FORMAT,
            "threshold": self.threshold,
            "min_agencies": self.min_agencies,
        }

    def groups_json(self) -> Iterator[dict[str, Any]]:
        """The groups of the document, one at a time."""
        for number, group in enumerate(self.groups, 1):
            yield {
                "group": group.number or number,
                "agencies": list(group.agencies),
                "members": [{"agency": m.agency, "reference": m.reference} for m in group.members],
                "links": [_link_json(link) for link in group.links],
                "best_score": round(group.score, 4),
                "agreed_fields": list(group.agreed_fields),
            }


def _link_json(link: Link) -> dict[str, Any]:
    return {
        "left": link.left,
        "right": link.right,
        "score": round(link.score, 4),
        "agreed": list(link.agreed),
    } | ({"levels": link.levels} if link.levels else {})


def write_hits(hits: Hits, path: Path) -> None:
    """Write hits as indented JSON, group by group.

    The text is that of `json.dumps(hits.to_json(), indent=2)`, but no whole document is
    held in memory: at 1,000,000 records it would take gigabytes as Python objects. With
    an indent, `json` encodes in Python, about 25 us a group; each group's text is put
    together here from the same pieces instead (`_GroupText`), with json's own encoders
    for strings and numbers (tests compare the two texts).
    """
    head = json.dumps(hits.head_json(), indent=2)[:-2]  # without the closing "\n}"
    text = _GroupText()
    with path.open("w", encoding="utf-8") as out:
        out.write(head + ',\n  "groups": [')
        pieces: list[str] = []
        separator = "\n"
        for number, group in enumerate(hits.groups, 1):
            pieces.append(text.group(group.number or number, group))
            if len(pieces) == _WRITE_GROUPS:
                out.write(separator + ",\n".join(pieces))
                pieces, separator = [], ",\n"
        if pieces:
            out.write(separator + ",\n".join(pieces))
        out.write("\n  ]\n}\n" if hits.groups else "]\n}\n")


_WRITE_GROUPS = 10_000  # groups' text joined per write
_string = json.encoder.encode_basestring_ascii  # what json.dumps encodes strings with


class _GroupText:
    """One group of `Hits.groups_json` as `json.dumps(..., indent=2)` writes it, indented.

    Groups of the same number of members and links share one %-template; agency names
    and agreed-name lists repeat across groups, so their text is kept. Values are
    encoded as json encodes them (`_value`).
    """

    def __init__(self) -> None:
        self.templates: dict[tuple[int, int, bool], str] = {}
        self.names: dict[str, str] = {}  # agency name -> its JSON string
        # names -> JSON list, at the indent of a group's fields and of a link's
        self.group_lists: dict[tuple[str, ...], str] = {}
        self.link_lists: dict[tuple[str, ...], str] = {}

    def group(self, number: int, group: Group) -> str:
        members, links = group.members, group.links
        shape = (len(members), len(links), bool(links) and bool(links[0].levels))
        template = self.templates.get(shape) or self._template(shape)
        agencies, fields = group.agencies, group.agreed_fields
        values = [
            _value(number),
            self.group_lists.get(agencies) or self._list(agencies, self.group_lists, _GROUP_INDENT),
        ]
        for member in members:
            name = self.names.get(member.agency) or self._name(member.agency)
            values += (name, _value(member.reference))
        for link in links:
            agreed = self.link_lists.get(link.agreed) or self._list(
                link.agreed, self.link_lists, _LINK_INDENT
            )
            values += (
                _value(link.left),
                _value(link.right),
                _value(round(link.score, 4)),
                agreed,
            )
            if shape[2]:
                values.append(_value(link.levels))
        values += (
            _value(round(group.score, 4)),
            self.group_lists.get(fields) or self._list(fields, self.group_lists, _GROUP_INDENT),
        )
        return template % tuple(values)

    def _name(self, name: str) -> str:
        text = self.names[name] = _value(name)
        return text

    def _list(self, names: tuple[str, ...], cache: dict[tuple[str, ...], str], indent: str) -> str:
        text = cache[tuple(names)] = _list([_value(name) for name in names], indent)
        return text

    def _template(self, shape: tuple[int, int, bool]) -> str:
        member = '        {\n          "agency": %s,\n          "reference": %s\n        }'
        link = (
            '        {\n          "left": %s,\n          "right": %s,\n          "score": %s,'
            '\n          "agreed": %s'
            + (',\n          "levels": %s' if shape[2] else "")
            + "\n        }"
        )
        template = self.templates[shape] = (
            '    {\n      "group": %s,\n      "agencies": %s,\n      "members": '
            + _list([member] * shape[0], _GROUP_INDENT, indented=True)
            + ',\n      "links": '
            + _list([link] * shape[1], _GROUP_INDENT, indented=True)
            + ',\n      "best_score": %s,\n      "agreed_fields": %s\n    }'
        )
        return template


_GROUP_INDENT, _LINK_INDENT = " " * 6, " " * 10


def _list(items: list[str], indent: str, *, indented: bool = False) -> str:
    """A JSON array at `indent` of items already encoded (`indented`: with their indent)."""
    if not items:
        return "[]"
    inner = indent + "  "
    body = ",\n".join(items) if indented else ",\n".join(inner + item for item in items)
    return "[\n" + body + "\n" + indent + "]"


def _value(value: object) -> str:
    """`value` as json.dumps writes it (exact types by hand, anything else by json)."""
    if isinstance(value, str) and type(value) is str:
        return _string(value)
    if isinstance(value, int) and type(value) is int:
        return int.__repr__(value)
    if isinstance(value, float) and type(value) is float and abs(value) < _INFINITY:
        return float.__repr__(value)  # finite: json writes NaN and Infinity its own way
    return json.dumps(value)


_INFINITY = float("inf")


def read_hits(path: Path) -> Hits:
    """Read a hits file written by `write_hits`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != HITS_FORMAT:
            raise LinkageError(f"{path}: not a {HITS_FORMAT} file")
        groups = tuple(_group(group) for group in document["groups"])
        return Hits(
            threshold=float(document["threshold"]),
            min_agencies=int(document["min_agencies"]),
            groups=groups,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise LinkageError(f"{path}: cannot be read as a hits file") from err


def _group(document: dict[str, Any]) -> Group:
    members = tuple(Member(m["agency"], m["reference"]) for m in document["members"])
    shown = {member.agency for member in members}
    best = document.get("best_score")
    return Group(
        members=members,
        links=tuple(
            Link(
                k["left"],
                k["right"],
                float(k["score"]),
                tuple(k.get("agreed", ())),
                str(k.get("levels", "")),
            )
            for k in document["links"]
        ),
        agreed_fields=tuple(document.get("agreed_fields", ())),
        unshown_agencies=tuple(sorted(set(document.get("agencies", ())) - shown)),
        best_score=None if best is None else float(best),
        number=None if document.get("group") is None else int(document["group"]),
    )


HitRecords = Mapping[int, frozenset[Member]]  # hit number -> the records it holds


@dataclass(frozen=True, slots=True)
class HitChanges:
    """What changed from one run's hits to another's, by the records each hit holds.

    Numbers are the new run's hits except in `gone`. A record is in at most one hit per
    run, so each new hit shares records with no, one or several old hits.
    """

    new: list[int]  # sharing no record with any old hit
    gone: list[int]  # old hits sharing no record with any new hit
    grown: dict[int, int]  # -> the one old hit whose records it holds, and more
    changed: dict[int, list[int]]  # -> the old hits it shares records with (split, merged, shrunk)
    unchanged: dict[int, int]  # -> the old hit holding exactly its records


def compare_hits(old: HitRecords, new: HitRecords) -> HitChanges:
    """Compare two runs' hits (reproducible references make the records comparable)."""
    holder = {record: number for number, records in old.items() for record in records}
    changes = HitChanges(new=[], gone=[], grown={}, changed={}, unchanged={})
    touched: set[int] = set()
    for number, records in sorted(new.items()):
        before = sorted({holder[record] for record in records if record in holder})
        touched.update(before)
        if not before:
            changes.new.append(number)
        elif len(before) > 1 or not old[before[0]] <= records:
            changes.changed[number] = before
        elif old[before[0]] == records:
            changes.unchanged[number] = before[0]
        else:
            changes.grown[number] = before[0]
    changes.gone.extend(sorted(set(old) - touched))
    return changes
