"""The public layout of a batch's comparison encodings: which slot holds which comparison.

Written by the encoder (`linkage.comparisons`) into the batch metadata and read by the
matcher, so the hub scores field by field without the schema file or any key. It names
comparisons and methods only: nothing about a record.
"""

import json
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from linkage.errors import BatchError

LAYOUT_FORMAT = "fieldlink-comparisons/1"
METHOD_CODES = {"bloom": 0, "exact": 1, "date": 2, "bands": 3}
MAX_WORDS = 1024
MAX_FAMILIES = 8


@dataclass(frozen=True, slots=True)
class ComparisonEntry:
    """One comparison's slot, in 64-bit words of the encoding."""

    name: str
    method: str
    offset: int
    words: int
    crosswise: str | None
    # An identifier of one person (a document number): relatives and namesakes share it
    # only by chance (`linkage.match.scoring`).
    personal: bool = False


@dataclass(frozen=True, slots=True)
class ComparisonLayout:
    """The slots of every comparison; `text` is the canonical JSON it was parsed from.

    `words` is one family's width; a schema with salt families (`linkage.salting`) writes
    `families` such encodings per record, one after the other.
    """

    text: str
    words: int
    entries: tuple[ComparisonEntry, ...]
    family_names: tuple[str, ...] = ()  # salt families, in encoding order; () for one
    family_comparisons: tuple[tuple[str, ...], ...] = ()  # comparisons of those fields
    group_filters: bool = False  # record filters encode the salt alone (equal per group)

    @property
    def families(self) -> int:
        """How many encodings of this layout each record has."""
        return max(1, len(self.family_names))

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse and check a layout document; every inconsistency is a BatchError."""
        try:
            document = json.loads(text)
            entries = tuple(
                ComparisonEntry(**(entry | {"personal": entry.get("personal", False) is True}))
                for entry in document["comparisons"]
            )
            words = int(document["words"])
            names = tuple(str(name) for name in document.get("families", ()))
            read = tuple(
                tuple(str(name) for name in family)
                for family in document.get("family_comparisons", ())
            )
            grouped = document.get("group_filters", False) is True
            valid = document["format"] == LAYOUT_FORMAT
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise BatchError("comparison layout is not readable") from err
        if (
            not valid
            or len(names) > MAX_FAMILIES
            or len(set(names)) != len(names)
            or (read and len(read) != len(names))
            or not 1 <= words * max(1, len(names)) <= MAX_WORDS
            or len(entries) > 63
        ):
            raise BatchError("comparison layout is not supported")
        _check_entries(entries, words)
        known = {entry.name for entry in entries}
        if any(name not in known for family in read for name in family):
            raise BatchError("comparison layout names an unknown comparison for a family")
        return cls(
            text=text,
            words=words,
            entries=entries,
            family_names=names,
            family_comparisons=read,
            group_filters=grouped,
        )

    @property
    def row_words(self) -> int:
        """A record's width in words: every family's encoding."""
        return self.words * self.families

    def one_family(self) -> "ComparisonLayout":
        """The layout of one family's encoding alone (what scoring a family reads)."""
        if self.families == 1:
            return self
        document = json.loads(self.text)
        del document["families"]
        document.pop("family_comparisons", None)
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return ComparisonLayout(
            text=text,
            words=self.words,
            entries=self.entries,
            group_filters=self.group_filters,
        )

    def shared_matches(self) -> npt.NDArray[np.bool_]:
        """Per family and comparison: True where the family's salt does not read it.

        There, what a true match looks like is the same in every such family, and scoring
        pools it (`linkage.match.scoring.fit_families`). All False for a layout that does
        not say which comparisons its salts read (each family then learns alone).
        """
        shared = np.zeros((self.families, len(self.entries)), dtype=bool)
        for family, read in enumerate(self.family_comparisons):
            shared[family] = [entry.name not in read for entry in self.entries]
        return shared

    @property
    def names(self) -> tuple[str, ...]:
        """Comparison names in layout order."""
        return tuple(entry.name for entry in self.entries)

    def check_width(self, row_bytes: int) -> None:
        """Refuse encodings whose rows are not as wide as this layout says."""
        if row_bytes != 8 * self.row_words:
            raise BatchError(f"comparison encodings must be {8 * self.row_words} bytes each")

    def index(self, name: str) -> int:
        """Position of a comparison by name."""
        return self.names.index(name)


def _check_entries(entries: tuple[ComparisonEntry, ...], words: int) -> None:
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names):
        raise BatchError("comparison layout repeats a name")
    used = 1
    for entry in entries:
        if entry.method not in METHOD_CODES or entry.offset != used or entry.words < 1:
            raise BatchError("comparison layout has a slot out of place")
        if entry.crosswise is not None and entry.crosswise not in names:
            raise BatchError("comparison layout names an unknown crosswise comparison")
        used += entry.words
    if used != words:
        raise BatchError("comparison layout does not add up to its width")
