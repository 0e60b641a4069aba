"""Probing controls at upload: refuse batches shaped like membership probes, within a budget.

Why: every agency holds the project secret, so a data officer can encode guesses (a phone
book, target persons each with spelling variants, single-token "atom" records), upload them
and learn from the own agency's hits who is in the other agencies' data (docs/privacy.md, threat
model). The encoding cannot stop that; the hub can make it costly and visible. Each rule is
a project setting (`ProbingSettings`), checked in this order:

1. salted encodings: a batch without salt families (`linkage.match.layout`) lets anyone
   holding it compare every record with every other one;
2. upload budget: the most records one agency may have uploaded to the project in total,
   counting deleted and replaced uploads too, so deleting does not reset it;
3. thin records: more than `MAX_THIN_SHARE` of the records setting fewer bits than
   `min_fill_share` of their filter, or than a quarter of the batch's median (atom records
   mixed into an ordinary file);
4. near-duplicate share: the share of records having two or more other records of the
   batch at Dice >= `NEAR_DUPLICATE_DICE` (spelling-variant sweeps; honest files hold few,
   from repeat visits), estimated on a sample (`near_duplicate_share`).

Everything is computed from the batch as the hub receives it: no key, no plaintext. A
refusal names the rule and the measured figure, never a reference or an encoding.

What these rules do not stop: a "low and slow" prober that spreads clean guesses thinly over
batches of decoys. The budget bounds how many guesses it gets; k-of-n release, per-agency
views and the audit log (every refused upload is an entry) do the rest. Measured with
`benchmarks/privacy/probing.py` (victim file of 2,000 persons, 200 targets, person schema,
seeds 0-2): the variant sweep's membership advantage falls from 1.00 to 0.00 (refused);
the low-and-slow prober keeps 0.94-0.95 without a budget and 0.51 with a budget of 1,100
records per agency (5 of its 10 uploads refused); none of 5 honest batches is refused.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from linkage.batch import COMPARISON_COLUMN, Batch
from linkage.match.dice import dice_pairs, popcounts
from linkage.match.layout import ComparisonLayout

NEAR_DUPLICATE_DICE = 0.9  # spelling variants of one person score above this, others rarely
NEAR_DUPLICATE_PEERS = 2  # near-duplicates a record needs to count (see near_duplicate_share)
NEAR_DUPLICATE_SAMPLE = 2000  # records whose near-duplicates are looked for
COMPARE_RECORDS = 4096  # records compared with the sample at a time (bounds the pairs)
MAX_THIN_SHARE = 0.05  # thin records allowed in a batch (an honest file holds none)
THIN_OF_MEDIAN = 0.25  # a record setting under this share of the median's bits is thin


class Rule(StrEnum):
    """The probing rules; each value is the problem code a refusal answers with."""

    UNSALTED = "unsalted-encodings"
    BUDGET = "upload-budget-exceeded"
    THIN_RECORDS = "abnormal-fill"
    NEAR_DUPLICATES = "near-duplicate-flood"


@dataclass(frozen=True, slots=True)
class ProbingSettings:
    """A project's probing controls (the defaults are those of a new project)."""

    upload_budget_records: int | None = None  # None: no budget
    max_near_duplicate_share: float = 0.15
    min_fill_share: float = 0.05
    require_salted_encodings: bool = True


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a batch is refused: the rule, and a detail with the measured figure only."""

    rule: Rule
    detail: str


@dataclass(frozen=True, slots=True)
class Measures:
    """What the probing rules look at, however the batch was read.

    In memory (`measures`), or in passes over an upload that is never held whole
    (`service.upload_scan`), to the same figures. The shares are asked for only when the
    rules before them pass.
    """

    salted: bool  # `is_salted`
    records: int
    thin_share: Callable[[float], float]  # `thin_share` at a min_fill_share
    near_duplicate_share: Callable[[], float]  # `near_duplicate_share`


def probing_refusal(
    batch: Batch,
    settings: ProbingSettings,
    already_uploaded_records: int,
    *,
    counted: bool = True,
    seed: int = 0,
) -> Refusal | None:
    """The first probing rule the batch breaks, or None when it passes them all.

    Args:
        batch: The batch offered for upload (already checked for format and labels).
        settings: The project's probing controls.
        already_uploaded_records: Records the agency had accepted in the project before,
            deleted and replaced uploads included.
        counted: False when the batch's records are exactly those of an earlier accepted
            upload of the agency, which were counted then.
        seed: Seeds the near-duplicate sample (the hub draws a fresh one per upload).

    Returns:
        The refusal, or None.
    """
    return refusal(measures(batch, seed=seed), settings, already_uploaded_records, counted=counted)


def measures(batch: Batch, *, seed: int = 0) -> Measures:
    """The probing rules' figures of a batch held in memory (computed when asked)."""
    return Measures(
        salted=is_salted(batch),
        records=len(batch),
        thin_share=lambda floor: thin_share(family_blocks(batch), floor),
        near_duplicate_share=lambda: near_duplicate_share(family_blocks(batch), seed=seed),
    )


def refusal(
    measured: Measures,
    settings: ProbingSettings,
    already_uploaded_records: int,
    *,
    counted: bool = True,
) -> Refusal | None:
    """`probing_refusal` of a batch's figures, however they were measured."""
    checks: tuple[Callable[[], Refusal | None], ...] = (
        lambda: _unsalted(measured.salted, settings),
        lambda: _over_budget(
            measured.records if counted else 0, settings, already_uploaded_records
        ),
        lambda: _thin(measured.thin_share(settings.min_fill_share), settings),
        lambda: _near_duplicates(measured.near_duplicate_share(), settings),
    )
    for check in checks:
        found = check()
        if found is not None:
            return found
    return None


def content_digest(batch: Batch) -> str:
    """SHA-256 of the batch's records (references, filters, comparison encodings), hex.

    Unlike the file's digest it leaves out the metadata (the time it was written), so the
    same records encoded again alike have the same content digest.
    """
    digest = hashlib.sha256()
    for reference in batch.references:
        encoded = reference.encode()
        digest.update(len(encoded).to_bytes(4, "big") + encoded)
    # The arrays themselves, not `tobytes()` copies of them: a run digests every batch.
    digest.update(np.ascontiguousarray(batch.filters).data.cast("B"))
    if batch.comparisons is not None:
        digest.update(np.ascontiguousarray(batch.comparisons.values).data.cast("B"))
    return digest.hexdigest()


class ContentDigest:
    """`content_digest` taken as a batch passes, to the same value.

    References first, then every filter, then every comparison encoding, each in record
    order. For a batch read in passes (`service.upload_scan`): `references` once, `rows` with
    each slice of filters in order, then with each slice of comparison encodings.
    """

    _PART = 65_536  # references framed at a time

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def references(self, column: pa.Array) -> None:
        """Every reference, framed as `content_digest` frames it (length, then UTF-8)."""
        for start in range(0, len(column), self._PART):
            self._digest.update(_framed(column.slice(start, self._PART)).data)

    def rows(self, first: int, rows: npt.NDArray[np.uint8]) -> None:
        """The next rows of filters or comparison encodings (`first`: for `RowScan`)."""
        self._digest.update(np.ascontiguousarray(rows).data.cast("B"))

    def hexdigest(self) -> str:
        """The digest, hex."""
        return self._digest.hexdigest()


def _framed(references: pa.Array) -> npt.NDArray[np.uint8]:
    # Each reference's UTF-8 bytes after their length (4 bytes, big-endian), all at once.
    offsets = np.frombuffer(references.buffers()[1], dtype=np.int32)
    offsets = offsets[references.offset : references.offset + len(references) + 1]
    text = references.buffers()[2]
    data = np.frombuffer(text, dtype=np.uint8) if text is not None else np.zeros(0, np.uint8)
    data = data[offsets[0] : offsets[-1]]
    out = np.empty(4 * len(references) + len(data), dtype=np.uint8)
    starts = 4 * np.arange(len(references)) + (offsets[:-1] - offsets[0])
    heads = (starts[:, None] + np.arange(4)).ravel()
    out[heads] = np.diff(offsets).astype(">u4").view(np.uint8)
    body = np.ones(len(out), dtype=bool)
    body[heads] = False
    out[body] = data
    return out


def is_salted(batch: Batch) -> bool:
    """Whether the batch's records are encoded in salt families."""
    if batch.comparisons is None:
        return False
    return bool(ComparisonLayout.parse(batch.comparisons.layout).family_names)


def family_blocks(batch: Batch) -> npt.NDArray[np.uint8]:
    """What carries the records' values, as records x families x bytes.

    A salted batch's comparison encodings: one block per salt family, an all-zero block a
    record without a salt in that family. Its record filters may encode the salt alone
    (`hardening.group_filters`: equal for a whole salt group, so they say nothing about
    near-duplicates or thin records); the comparison encodings always hold the values.
    Otherwise the record filters (one family: the whole filter; a filter that does not
    split evenly is one block). `block_column` says which, for a batch read in slices.
    """
    layout = batch.comparisons.layout if batch.comparisons is not None else None
    column = block_column(batch.filter_bits, layout)
    if column.name == COMPARISON_COLUMN and batch.comparisons is not None:
        return column.split(np.ascontiguousarray(batch.comparisons.values))
    return column.split(batch.filters)


@dataclass(frozen=True, slots=True)
class BlockColumn:
    """The column that carries a batch's values (`family_blocks`), and its families."""

    name: str  # "filter", or `linkage.batch.COMPARISON_COLUMN`
    families: int

    def split(self, rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Rows of the column (records x bytes) as records x families x bytes."""
        return rows.reshape(len(rows), self.families, rows.shape[1] // self.families)


def block_column(filter_bits: int, layout: str | None) -> BlockColumn:
    """Which column `family_blocks` takes, by the batch's filter length and comparison layout."""
    parsed = ComparisonLayout.parse(layout) if layout is not None else None
    if parsed is not None and parsed.family_names:
        return BlockColumn(COMPARISON_COLUMN, parsed.families)
    families = parsed.families if parsed is not None else 1
    if (filter_bits // 8) % families:
        families = 1
    return BlockColumn("filter", families)


def record_fill(blocks: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Each record's share of set bits, averaged over the families it is encoded in (0: none)."""
    ones = np.stack([popcounts(_family(blocks, index)) for index in range(blocks.shape[1])], 1)
    present = (ones > 0).sum(axis=1)
    fill = ones.sum(axis=1) / np.maximum(present, 1) / (blocks.shape[2] * 8)
    return np.asarray(fill, dtype=np.float64)


def thin_share(blocks: npt.NDArray[np.uint8], min_fill_share: float) -> float:
    """Share of encoded records below `min_fill_share` or a quarter of the median fill.

    Records encoded in no family are left out: they can match nothing, so probe nothing.
    """
    return thin_share_of_fill(record_fill(blocks), min_fill_share)


def thin_share_of_fill(fill: npt.NDArray[np.float64], min_fill_share: float) -> float:
    """`thin_share` of the records' `record_fill`, however it was gathered."""
    fill = fill[fill > 0]
    if not len(fill):
        return 0.0
    floor = max(min_fill_share, THIN_OF_MEDIAN * float(np.median(fill)))
    return float((fill < floor).mean())


def near_duplicate_share(blocks: npt.NDArray[np.uint8], *, seed: int = 0) -> float:
    """Share of records with `NEAR_DUPLICATE_PEERS` or more near-duplicates in the batch.

    A near-duplicate is another record at Dice >= `NEAR_DUPLICATE_DICE` in some salt
    family (each counted once). Why two, not one: honest files hold repeat records of a
    person too, and in the synthetic agencies (`linkage.synth`) a border police file has
    24% of its records with one near-duplicate but only 5% with two or more; a sweep of
    targets with four spelling variants each, mixed one to one with decoys, has 46% with
    two or more (31% with twice the decoys).

    An estimate: `NEAR_DUPLICATE_SAMPLE` records drawn with the seed (all of them in a
    smaller batch, which makes it exact) are each compared with every record of the batch,
    family by family with the matcher's Dice kernel. Records encoded in no family are left
    out, so that padding a batch with empty records does not dilute the share. The sample
    share is binomial, so its standard error is at most sqrt(p (1 - p) / 2000): 0.008 at
    the default limit of 0.15, 0.011 at 0.5.
    """
    duplicates = NearDuplicates(
        near_duplicate_sample(np.flatnonzero(blocks.any(axis=(1, 2))), seed=seed)
    )
    duplicates.take(0, blocks)
    duplicates.compare(0, blocks)
    return duplicates.share()


def near_duplicate_sample(encoded: npt.NDArray[np.intp], *, seed: int) -> npt.NDArray[np.intp]:
    """The records `near_duplicate_share` looks at, of the `encoded` ones (ascending).

    Empty with fewer than two encoded records (there is nothing to be near).
    """
    if len(encoded) < 2:
        return np.zeros(0, dtype=np.intp)
    rng = np.random.default_rng(seed)
    size = min(len(encoded), NEAR_DUPLICATE_SAMPLE)
    return np.sort(rng.choice(encoded, size=size, replace=False))


class NearDuplicates:
    """`near_duplicate_share` over records that pass a slice at a time: the same share.

    The sample's own blocks are taken from the slices first (`take`); then every slice is
    compared with them (`compare`), family by family as the whole batch would be. A
    sampled record's near-duplicates in different slices are different records, so its
    count is the sum over the slices.
    """

    def __init__(self, sample: npt.NDArray[np.intp]) -> None:
        self.sample = sample  # `near_duplicate_sample`
        self.peers = np.zeros(len(sample), dtype=np.int64)  # near-duplicates found so far
        self._held: npt.NDArray[np.uint8] | None = None  # the sample's blocks
        self._families: list[npt.NDArray[np.uint8]] = []

    def take(self, first: int, blocks: npt.NDArray[np.uint8]) -> None:
        """Keep the sampled records among `blocks`, records `first` on."""
        if self._held is None:
            self._held = np.zeros((len(self.sample), *blocks.shape[1:]), dtype=np.uint8)
        low, high = np.searchsorted(self.sample, [first, first + len(blocks)])
        self._held[low:high] = blocks[self.sample[low:high] - first]

    def compare(self, first: int, blocks: npt.NDArray[np.uint8]) -> None:
        """Count the sampled records' near-duplicates among `blocks`, records `first` on."""
        if not len(self.sample) or self._held is None:
            return
        if not self._families:
            self._families = [_family(self._held, index) for index in range(blocks.shape[1])]
        # A few thousand records at a time: the kernel returns every pair, and a flood of
        # copies pairs each sampled record with each of them.
        for start in range(0, len(blocks), COMPARE_RECORDS):
            self._compare(first + start, blocks[start : start + COMPARE_RECORDS])

    def _compare(self, first: int, blocks: npt.NDArray[np.uint8]) -> None:
        near = np.zeros((len(self.sample), len(blocks)), dtype=bool)  # in some family
        for index, sampled in enumerate(self._families):
            pairs = dice_pairs(sampled, _family(blocks, index), threshold=NEAR_DUPLICATE_DICE)
            other = first + pairs.right != self.sample[pairs.left]  # each pairs with itself
            near[pairs.left[other], pairs.right[other]] = True
        self.peers += near.sum(axis=1)

    def share(self) -> float:
        """The share of sampled records with `NEAR_DUPLICATE_PEERS` or more."""
        if not len(self.sample):
            return 0.0
        return float((self.peers >= NEAR_DUPLICATE_PEERS).mean())


def _family(blocks: npt.NDArray[np.uint8], index: int) -> npt.NDArray[np.uint8]:
    # One family's filters, contiguous and padded with zero bytes to whole 64-bit words as
    # the kernel reads them (padding changes no popcount and no Dice score).
    block = blocks[:, index, :]
    pad = -block.shape[1] % 8
    return np.ascontiguousarray(np.pad(block, ((0, 0), (0, pad))) if pad else block)


def _unsalted(salted: bool, settings: ProbingSettings) -> Refusal | None:
    if not settings.require_salted_encodings or salted:
        return None
    return Refusal(
        Rule.UNSALTED,
        "the batch's encodings are not salted (no salt families); this project accepts "
        "salted encodings only: encode with a schema that has salt families",
    )


def _over_budget(
    records: int, settings: ProbingSettings, already_uploaded_records: int
) -> Refusal | None:
    budget = settings.upload_budget_records
    if budget is None or not records or already_uploaded_records + records <= budget:
        return None
    left = max(0, budget - already_uploaded_records)
    return Refusal(
        Rule.BUDGET,
        f"the batch holds {records} records and the agency's upload budget in this project "
        f"has {left} of {budget} left (deleted and replaced uploads count)",
    )


def _thin(share: float, settings: ProbingSettings) -> Refusal | None:
    if share <= MAX_THIN_SHARE:
        return None
    return Refusal(
        Rule.THIN_RECORDS,
        f"{share:.1%} of the records set very few bits (under {settings.min_fill_share:.0%} "
        f"of the filter or a quarter of the batch's median); at most {MAX_THIN_SHARE:.0%} may",
    )


def _near_duplicates(share: float, settings: ProbingSettings) -> Refusal | None:
    if share <= settings.max_near_duplicate_share:
        return None
    return Refusal(
        Rule.NEAR_DUPLICATES,
        f"an estimated {share:.1%} of the records have {NEAR_DUPLICATE_PEERS} or more "
        f"near-duplicates (Dice >= {NEAR_DUPLICATE_DICE}) in the batch; the project allows "
        f"{settings.max_near_duplicate_share:.0%}",
    )
