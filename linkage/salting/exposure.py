"""What a hub could count in one batch, and whether that is within a project's policy.

Everything here is computed from the batch file alone, as the hub receives it: no key,
no plaintext. Counting is the first step of every frequency attack: a slot value (a
first-name filter, a date tag) that many records share is a value the hub can align
with a public frequency table, and the larger the group, the easier. Salting limits equal
slots to records that share a salt, so for a hardened batch the largest groups are a
person's own repeated records; for an unsalted one they are the most common names.

Reported per salt family: the share of records in it (the others have no salt value
there), and per comparison slot and for the family's record-level filter, the largest
group of records with one equal, non-empty value and the number of distinct values.
`check` compares that with a `Policy` and returns the reasons to refuse the batch.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkage.batch import Batch
from linkage.match.layout import ComparisonLayout


@dataclass(frozen=True, slots=True)
class SlotCount:
    """Equal values of one slot (a comparison, or the family's filter) across records."""

    name: str
    present: int  # records with a value in the slot
    distinct: int
    largest: int  # records sharing the most common value


@dataclass(frozen=True, slots=True)
class FamilyExposure:
    """One salt family's encodings of the batch."""

    name: str
    records: int  # records with a salt in this family
    slots: tuple[SlotCount, ...]

    @property
    def largest(self) -> int:
        """The largest group of records the hub sees sharing one slot value."""
        return max((slot.largest for slot in self.slots), default=0)


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the hub could count in a batch."""

    records: int
    salted: bool  # encodings salted (salt families); False: one unsalted encoding
    families: tuple[FamilyExposure, ...]
    unmatched: int  # records with no salt in any family: they can never be matched

    @property
    def largest(self) -> int:
        """The largest group of equal slot values over every family."""
        return max((family.largest for family in self.families), default=0)


@dataclass(frozen=True, slots=True)
class Policy:
    """The weakest batch a project accepts (defaults: the hardened default passes)."""

    require_salted: bool = True
    # The largest equal-slot group: a share of the batch (never below `min_group`, so a
    # person's own repeated records pass in a small batch), and at most `max_group`: the
    # salt-group size the in-group attacks were measured at (benchmarks/README.md).
    max_group_share: float = 0.01
    min_group: int = 10
    max_group: int = 600
    max_unmatched_share: float = 0.05

    def group_limit(self, records: int) -> int:
        """The largest equal-slot group allowed in a batch of this many records."""
        return min(self.max_group, max(self.min_group, int(self.max_group_share * records)))


def _largest_equal(rows: npt.NDArray[np.uint8]) -> tuple[int, int]:
    if not len(rows):
        return 0, 0
    _, counts = np.unique(rows, axis=0, return_counts=True)
    return int(counts.size), int(counts.max())


def _slot(name: str, rows: npt.NDArray[np.uint8], present: npt.NDArray[np.bool_]) -> SlotCount:
    distinct, largest = _largest_equal(rows[present])
    return SlotCount(name=name, present=int(present.sum()), distinct=distinct, largest=largest)


def batch_exposure(batch: Batch) -> Exposure:
    """Count equal slots per family of a batch (hub's view: no key, no plaintext)."""
    layout = ComparisonLayout.parse(batch.comparisons.layout) if batch.comparisons else None
    names = layout.family_names if layout is not None and layout.family_names else ("",)
    width = batch.filters.shape[1] // len(names)
    words = batch.comparisons.values.view(np.uint64) if batch.comparisons else None
    in_any = np.zeros(len(batch), dtype=bool)
    families = []
    for index, name in enumerate(names):
        filters = batch.filters[:, index * width : (index + 1) * width]
        member: npt.NDArray[np.bool_] = np.asarray(filters.any(axis=1))
        in_any |= member
        slots = [_slot("record filter", filters, member)]
        if layout is not None and words is not None:
            block = words[:, index * layout.words : (index + 1) * layout.words]
            for position, entry in enumerate(layout.entries):
                bit = (block[:, 0] >> np.uint64(position)) & np.uint64(1)
                present: npt.NDArray[np.bool_] = member & (bit == 1)
                values = block[:, entry.offset : entry.offset + entry.words]
                slots.append(
                    _slot(entry.name, np.ascontiguousarray(values).view(np.uint8), present)
                )
        families.append(
            FamilyExposure(name=name or "(unsalted)", records=int(member.sum()), slots=tuple(slots))
        )
    return Exposure(
        records=len(batch),
        salted=bool(layout is not None and layout.family_names),
        families=tuple(families),
        unmatched=int((~in_any).sum()),
    )


def check(exposure: Exposure, policy: Policy) -> list[str]:
    """The reasons this batch is weaker than the policy (empty: acceptable)."""
    reasons = []
    if policy.require_salted and not exposure.salted:
        reasons.append(
            "the encodings are not salted: the hub can compare every record with every other "
            "one (graph matching) and count repeated name filters (frequency attacks)"
        )
    limit = policy.group_limit(exposure.records)
    for family in exposure.families:
        for slot in family.slots:
            if slot.largest > limit:
                reasons.append(
                    f"family {family.name}: {slot.largest} records share one '{slot.name}' "
                    f"value (policy: at most {limit})"
                )
    if exposure.records and exposure.unmatched / exposure.records > policy.max_unmatched_share:
        reasons.append(
            f"{exposure.unmatched} records ({exposure.unmatched / exposure.records:.1%}) have "
            f"no salt in any family and can never be matched (policy: at most "
            f"{policy.max_unmatched_share:.0%})"
        )
    return reasons
