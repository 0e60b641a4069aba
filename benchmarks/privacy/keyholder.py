"""Sanity check of the harness: an agency that holds the secret decodes the encodings.

Every agency shares the project secret, so for it an encoding is a keyed dictionary
lookup (ATTACKS.md section 2.12): it encodes candidate names itself and compares.

* `decode_given_names`: each candidate first given name (the register's, and the
  population's distinct names, i.e. a public name list) is encoded alone, with the key,
  and its first_given slot is compared by Dice with each victim record's slot; the best
  candidate is the guess. On a deterministic encoding this decodes nearly every name.
  A salted encoding defeats this naive dictionary (the slot depends on the salt value).
* `match_records`: the proper key-holder attack on salted encodings: encode each register
  person completely (salt and all) and take, for every victim record, the register
  person whose record-level filter is most similar (Dice over the whole row, every salt
  family included). Counts a record re-identified when that is the true person.
"""

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.privacy.comparison_attack import first_word, slot_bits
from benchmarks.privacy.population import (
    PlainRecord,
    encode,
    family_blocks,
    normalized_column,
)
from keys import LinkageSecret
from linkage.schema import LinkageSchema

_FILLER = {"surnames": "Filler", "date_of_birth": "2000-01-01"}  # required fields
CHUNK = 1024


def dice_best(
    left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """For each row of `left` (0/1 bits), the most Dice-similar row of `right`, and its Dice."""
    rhs = right.astype(np.float32)
    sizes = rhs.sum(axis=1)
    best = np.zeros(len(left), dtype=np.int64)
    score = np.zeros(len(left), dtype=np.float64)
    for start in range(0, len(left), CHUNK):
        lhs = left[start : start + CHUNK].astype(np.float32)
        dice = 2 * (lhs @ rhs.T) / np.maximum(lhs.sum(axis=1)[:, None] + sizes[None, :], 1)
        best[start : start + CHUNK] = np.argmax(dice, axis=1)
        score[start : start + CHUNK] = dice.max(axis=1)
    return best, score


def candidate_names(*groups: Sequence[PlainRecord]) -> list[str]:
    """Distinct raw first given names of the records (the key holder's name list)."""
    return sorted({r.given_names.split(" ")[0] for group in groups for r in group if r.given_names})


def decode_given_names(
    victim_comparisons: npt.NDArray[np.uint8],
    schema: LinkageSchema,
    secret: LinkageSecret,
    names: Sequence[str],
    victim: Sequence[PlainRecord],
) -> float:
    """Share of victim records whose first given name the dictionary decodes correctly."""
    singles = [
        PlainRecord("", name, _FILLER["surnames"], _FILLER["date_of_birth"], "", "", "", "", "", "")
        for name in names
    ]
    encoded = encode(singles, schema, secret)
    normal = [first_word(v) for v in normalized_column(schema, singles, "given_names")]
    truth = np.array(
        [first_word(v) or "" for v in normalized_column(schema, victim, "given_names")]
    )
    correct = np.zeros(len(victim), dtype=bool)
    victim_blocks = family_blocks(victim_comparisons, encoded.layout)
    for (words, rows), (cand_words, cand_rows) in zip(
        victim_blocks, family_blocks(encoded.comparisons, encoded.layout), strict=True
    ):
        if not cand_rows.any():
            continue
        pool = np.flatnonzero(cand_rows)
        best, _ = dice_best(
            slot_bits(words, encoded.layout, "first_given"),
            slot_bits(cand_words[pool], encoded.layout, "first_given"),
        )
        guess = np.array([normal[pool[i]] or "" for i in best])
        correct |= rows & (guess == truth) & (truth != "")
    return float(correct.mean())


def match_records(
    victim_filters: npt.NDArray[np.uint8],
    schema: LinkageSchema,
    secret: LinkageSecret,
    victim: Sequence[PlainRecord],
    held: Sequence[PlainRecord],
) -> tuple[float, float]:
    """(share of all victim records, share of those in the register) matched to the truth."""
    register_filters = encode(held, schema, secret).filters
    best, _ = dice_best(
        np.unpackbits(victim_filters, axis=1), np.unpackbits(register_filters, axis=1)
    )
    ids = np.array([r.person_id for r in held])
    truth = np.array([r.person_id for r in victim])
    correct = ids[best] == truth
    covered = np.isin(truth, ids)
    return float(correct.mean()), float(correct[covered].mean()) if covered.any() else 0.0


def attack(
    victim_filters: npt.NDArray[np.uint8],
    victim_comparisons: npt.NDArray[np.uint8],
    schema: LinkageSchema,
    secret: LinkageSecret,
    victim: Sequence[PlainRecord],
    held: Sequence[PlainRecord],
    population: Sequence[PlainRecord],
) -> dict[str, Any]:
    """Both key-holder attacks; `reidentified` is the whole-record match."""
    start = time.perf_counter()
    names = candidate_names(held, population)
    given = decode_given_names(victim_comparisons, schema, secret, names, victim)
    records, of_covered = match_records(victim_filters, schema, secret, victim, held)
    return {
        "attack": "keyholder",
        "given_decoded": given,
        "reidentified": records,
        "reidentified_of_covered": of_covered,
        "candidates": len(names),
        "seconds": time.perf_counter() - start,
    }
