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

from linkage.batch import Batch
from linkage.match.dice import dice_pairs, popcounts
from linkage.match.layout import ComparisonLayout

NEAR_DUPLICATE_DICE = 0.9  # spelling variants of one person score above this, others rarely
NEAR_DUPLICATE_PEERS = 2  # near-duplicates a record needs to count (see near_duplicate_share)
NEAR_DUPLICATE_SAMPLE = 2000  # records whose near-duplicates are looked for
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
    checks: tuple[Callable[[], Refusal | None], ...] = (
        lambda: _unsalted(batch, settings),
        lambda: _over_budget(len(batch) if counted else 0, settings, already_uploaded_records),
        lambda: _thin(batch, settings),
        lambda: _near_duplicates(batch, settings, seed),
    )
    for check in checks:
        refusal = check()
        if refusal is not None:
            return refusal
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
    split evenly is one block).
    """
    if batch.comparisons is not None:
        layout = ComparisonLayout.parse(batch.comparisons.layout)
        if layout.family_names:
            values = np.ascontiguousarray(batch.comparisons.values)
            return values.reshape(len(batch), layout.families, 8 * layout.words)
    families = 1
    if batch.comparisons is not None:
        families = ComparisonLayout.parse(batch.comparisons.layout).families
    if batch.filters.shape[1] % families:
        families = 1
    return batch.filters.reshape(len(batch), families, batch.filters.shape[1] // families)


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
    fill = record_fill(blocks)
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
    encoded = np.flatnonzero(blocks.any(axis=(1, 2)))
    if len(encoded) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    size = min(len(encoded), NEAR_DUPLICATE_SAMPLE)
    sample = np.sort(rng.choice(encoded, size=size, replace=False))
    links = []
    for index in range(blocks.shape[1]):
        block = _family(blocks, index)
        pairs = dice_pairs(block[sample], block, threshold=NEAR_DUPLICATE_DICE)
        other = pairs.right != sample[pairs.left]  # a record always pairs with itself
        links.append(pairs.left[other] * len(blocks) + pairs.right[other])
    partners = np.unique(np.concatenate(links)) // len(blocks)  # one per (sampled, other)
    peers = np.bincount(partners, minlength=size)
    return float((peers >= NEAR_DUPLICATE_PEERS).mean())


def _family(blocks: npt.NDArray[np.uint8], index: int) -> npt.NDArray[np.uint8]:
    # One family's filters, contiguous and padded with zero bytes to whole 64-bit words as
    # the kernel reads them (padding changes no popcount and no Dice score).
    block = blocks[:, index, :]
    pad = -block.shape[1] % 8
    return np.ascontiguousarray(np.pad(block, ((0, 0), (0, pad))) if pad else block)


def _unsalted(batch: Batch, settings: ProbingSettings) -> Refusal | None:
    if not settings.require_salted_encodings or is_salted(batch):
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


def _thin(batch: Batch, settings: ProbingSettings) -> Refusal | None:
    share = thin_share(family_blocks(batch), settings.min_fill_share)
    if share <= MAX_THIN_SHARE:
        return None
    return Refusal(
        Rule.THIN_RECORDS,
        f"{share:.1%} of the records set very few bits (under {settings.min_fill_share:.0%} "
        f"of the filter or a quarter of the batch's median); at most {MAX_THIN_SHARE:.0%} may",
    )


def _near_duplicates(batch: Batch, settings: ProbingSettings, seed: int) -> Refusal | None:
    share = near_duplicate_share(family_blocks(batch), seed=seed)
    if share <= settings.max_near_duplicate_share:
        return None
    return Refusal(
        Rule.NEAR_DUPLICATES,
        f"an estimated {share:.1%} of the records have {NEAR_DUPLICATE_PEERS} or more "
        f"near-duplicates (Dice >= {NEAR_DUPLICATE_DICE}) in the batch; the project allows "
        f"{settings.max_near_duplicate_share:.0%}",
    )
