"""The hub's attack inside one salt group, at the size of the largest groups nationally.

What: salt families split the records into groups that share a family's salt; only
records inside one group are comparable, so an attack sees one group at a time. On a few
thousand records every group is tiny, which says nothing about a national file: the
largest groups the default schema produces at 10,000,000 records are estimated at 200-600
records (extrapolated from the group sizes of a 200,000-person population). This module
builds such a group directly and attacks it.

How: population persons are *forced* into a family's most common salt value: every value
the family's salt depends on is overwritten (a full date of birth, or its year, month,
day or day-and-month; the first word of a name field by a population name with the same
sound key, `linkage.salting.name_key`; the postcode or phone). The victim file is
`size` such persons, with the usual typos, sound-alikes, date errors and missing dates
(`population.encoded_file`; some of these break the salt, as they would in reality);
the register holds `coverage` of them plus as many other persons forced into the same
group (worst case: the attacker knows which group it attacks). Both are encoded with the
hardened schema, and only the family's block of the victims' in-group rows is attacked:
the hub's comparison attack and the three graph matching variants of `run.py`.

Why: it is the strongest position the group structure leaves the hub; if the default
schema resists here, it resists in every smaller group.
"""

import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from benchmarks.privacy import comparison_attack
from benchmarks.privacy.population import (
    PlainRecord,
    encode,
    encoded_file,
    filter_blocks,
    make_population,
    register,
    truth_indices,
)
from keys import LinkageSecret
from linkage.comparisons import comparison_layout
from linkage.encode import normalize_column
from linkage.match.layout import ComparisonLayout
from linkage.salting import family_salts, name_initial, name_key
from linkage.schema import LinkageSchema, SaltFamily, split_salt_part

POOL_FACTOR = 20  # population persons per group record: donors and same-key names
NAME_FIELDS = ("given_names", "surnames")


def _word(word: str) -> str:
    return word


WORD_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "key": name_key,
    "initial": name_initial,
    "word": _word,
}


# --------------------------------------------------------------------------- salts


def normalised_columns(schema: LinkageSchema, records: Sequence[PlainRecord]) -> list[list[Any]]:
    """One normalised column per schema field, in schema order (None: missing or invalid)."""
    rows = [record.values() for record in records]
    return [
        normalize_column(schema.field(name), [row.get(name, "") for row in rows])[0]
        for name in schema.field_names
    ]


def salts(
    schema: LinkageSchema, family: SaltFamily, records: Sequence[PlainRecord]
) -> list[str | None]:
    """Each record's salt value in the family (None: not in the family)."""
    return family_salts(schema, family, normalised_columns(schema, records))


def most_common_salt(
    schema: LinkageSchema, family: SaltFamily, records: Sequence[PlainRecord]
) -> tuple[str, PlainRecord]:
    """The family's most common salt value among the records, and one record holding it."""
    values = salts(schema, family, records)
    target, _ = Counter(v for v in values if v is not None).most_common(1)[0]
    return target, records[values.index(target)]


# --------------------------------------------------------------------------- names


def _normalise(schema: LinkageSchema, field: str, raw: str) -> str | None:
    return normalize_column(schema.field(field), [raw])[0][0]


def _normalised_first(schema: LinkageSchema, field: str, raw: str) -> tuple[int, str] | None:
    """(index of the raw word that gives the normalised first word, that word), or None.

    Particles ("van der", "da") are dropped by the normaliser before another word, so the
    first normalised word is not always the first raw word; a lone particle is kept, so
    each raw word is normalised alone and compared with the whole value's first word.
    """
    full = _normalise(schema, field, raw)
    if not full:
        return None
    first = full.split(" ")[0]
    for index, word in enumerate(raw.split(" ")):
        alone = _normalise(schema, field, word)
        if alone and alone.split(" ")[0] == first:
            return index, first
    return None


@dataclass(frozen=True, slots=True)
class NamePool:
    """Raw first words of one name field, by transform value (with repeats: frequency)."""

    field: str
    by_value: Mapping[str, Sequence[str]]

    @classmethod
    def of(
        cls, schema: LinkageSchema, field: str, transform: str, records: Sequence[PlainRecord]
    ) -> "NamePool":
        """Index the records' first words of `field` by their transform value."""
        by_value: dict[str, list[str]] = defaultdict(list)
        for record in records:
            found = _normalised_first(schema, field, getattr(record, field))
            if found is not None:
                raw = getattr(record, field).split(" ")[found[0]]
                by_value[WORD_TRANSFORMS[transform](found[1])].append(raw)
        return cls(field, dict(by_value))


def replace_first_word(
    schema: LinkageSchema, record: PlainRecord, pool: NamePool, value: str, rng: random.Random
) -> PlainRecord:
    """The record with its field's first (normalised) word replaced by one with `value`."""
    raw = getattr(record, pool.field)
    found = _normalised_first(schema, pool.field, raw)
    choices = pool.by_value.get(value)
    if not choices:
        raise ValueError(f"no {pool.field} word with {value!r} in the pool")
    words = raw.split(" ")
    rest = words[found[0] + 1 :] if found is not None else []
    return replace(record, **{pool.field: " ".join([rng.choice(choices), *rest])})


# --------------------------------------------------------------------------- forcing


def _forced_date(current: str, donor: str, transform: str) -> str:
    """The current date with the components the transform reads taken from the donor."""
    if transform == "" or not current:
        return donor
    year, month, day = (int(x) for x in current.split("-"))
    d_year, d_month, d_day = (int(x) for x in donor.split("-"))
    if transform in ("year", "decade"):
        year = d_year
    elif transform == "month":
        month = d_month
    elif transform == "day":
        day = d_day
    elif transform == "month_day":
        month, day = d_month, d_day
    else:
        raise ValueError(f"unknown date transform {transform!r}")
    try:
        return date(year, month, day).isoformat()
    except ValueError:  # e.g. 31 in a 30-day month: the donor's date shares every component
        return donor


@dataclass(frozen=True, slots=True)
class Forcing:
    """How to move a record into one family's target salt value."""

    schema: LinkageSchema
    family: SaltFamily
    target: str
    donor: PlainRecord  # a record with the target salt: the values to copy
    pools: Mapping[tuple[str, str], NamePool]  # (field, transform) -> names

    @classmethod
    def of(
        cls, schema: LinkageSchema, family: SaltFamily, population: Sequence[PlainRecord]
    ) -> "Forcing":
        """The family's most common salt value in the population, and name pools for it."""
        target, donor = most_common_salt(schema, family, population)
        pools = {
            (field, transform): NamePool.of(schema, field, transform, population)
            for fields, transform in map(split_salt_part, family.parts)
            for field in fields
            if field in NAME_FIELDS
        }
        return cls(schema, family, target, donor, pools)

    def apply(self, record: PlainRecord, rng: random.Random) -> PlainRecord:
        """The record with every value the family's salt reads set to the target's."""
        for fields, transform in map(split_salt_part, self.family.parts):
            for field in fields:
                record = self._force_field(record, field, transform, rng)
        return record

    def _force_field(
        self, record: PlainRecord, field: str, transform: str, rng: random.Random
    ) -> PlainRecord:
        if field == "date_of_birth":
            current = record.date_of_birth
            return replace(
                record, date_of_birth=_forced_date(current, self.donor.date_of_birth, transform)
            )
        if field in NAME_FIELDS:
            found = _normalised_first(self.schema, field, getattr(self.donor, field))
            if found is None:
                raise ValueError(f"the donor has no {field}")
            value = WORD_TRANSFORMS[transform](found[1])
            return replace_first_word(self.schema, record, self.pools[field, transform], value, rng)
        return replace(record, **{field: getattr(self.donor, field)})  # postcode, phone, ...


# --------------------------------------------------------------------------- one group


@dataclass(frozen=True, slots=True)
class Group:
    """A victim file and a register forced into one salt group, and how well it held."""

    victim: list[PlainRecord]
    held: list[PlainRecord]
    victim_in_group: np.ndarray  # bool per victim record: salt == target
    register_in_group: float  # share of register records with salt == target


def make_group(
    schema: LinkageSchema, family: SaltFamily, size: int, coverage: float, seed: int
) -> Group:
    """`size` victims and a register (coverage of them + `size` others) in one group."""
    population = make_population(POOL_FACTOR * size, seed)
    forcing = Forcing.of(schema, family, population)
    rng = random.Random(f"salt-group-{family.name}-{seed}")
    persons = [forcing.apply(record, rng) for record in rng.sample(population, 2 * size)]
    victim = encoded_file(persons, size, seed=seed)
    held = register(persons, victim, coverage, extra=1.0, seed=seed)
    in_victim = np.array([s == forcing.target for s in salts(schema, family, victim)])
    in_register = statistics.fmean(s == forcing.target for s in salts(schema, family, held))
    if in_register < 0.95:  # the register has correct values: all of it must be in the group
        raise RuntimeError(f"{family.name}: only {in_register:.2f} of the register forced")
    return Group(victim, held, in_victim, in_register)


def single_family_layout(layout: ComparisonLayout) -> ComparisonLayout:
    """The layout of one family's block (no families)."""
    return replace(layout, family_names=())


def attack_group(
    schema: LinkageSchema, family_index: int, group: Group, seed: int
) -> list[dict[str, Any]]:
    """Comparison attack and graph matching on one family's block of the in-group victims."""
    from benchmarks.privacy.run import attacker_encoded, gma_variants  # run imports this module

    layout = comparison_layout(schema)
    rows = np.flatnonzero(group.victim_in_group)
    victim = [group.victim[i] for i in rows]
    secret = LinkageSecret(project="bench", value=np.random.default_rng([seed, 1]).bytes(32))
    encoded = encode(victim, schema, secret)
    width = 8 * layout.words
    block = slice(family_index * width, (family_index + 1) * width)
    comparisons = np.ascontiguousarray(encoded.comparisons[:, block])
    start = time.perf_counter()
    results = [
        comparison_attack.attack(
            comparisons, single_family_layout(layout), schema, victim, group.held
        )
    ]
    results[0]["seconds"] = time.perf_counter() - start
    claims = results[0].pop("claims_by_record", {})
    victim_filters = np.ascontiguousarray(filter_blocks(encoded.filters, layout)[family_index])
    attacker = attacker_encoded(schema, group.held, seed)
    held_filters = filter_blocks(attacker.filters, layout)[family_index]
    truth = truth_indices(victim, group.held)
    results += gma_variants(
        victim_filters, np.ascontiguousarray(held_filters), truth, claims, families=1, seed=seed
    )
    # The same graph matching on the family's comparison encodings (presence mask, name
    # slots, tags): what a hub would attack if the record-level filter told it nothing.
    held_comparisons = np.ascontiguousarray(attacker.comparisons[:, block])
    for row in gma_variants(comparisons, held_comparisons, truth, claims, families=1, seed=seed):
        rows_name = "comparisons_" + str(row["attack"])
        results.append({**row, "attack": rows_name})
    return results


def run_groups(
    schema: LinkageSchema,
    size: int,
    seeds: Sequence[int],
    coverages: Sequence[float],
    family_names: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Every attack in the largest group of each family, per seed and coverage."""
    rows: list[dict[str, Any]] = []
    for index, family in enumerate(schema.hardening.salt_families):
        if family_names and family.name not in family_names:
            continue
        for seed in seeds:
            for coverage in coverages:
                group = make_group(schema, family, size, coverage, seed)
                context = {
                    "config": family.name,
                    "seed": seed,
                    "coverage": coverage,
                    "victim_in_group": float(group.victim_in_group.mean()),
                    "register_in_group": group.register_in_group,
                    "victims_attacked": int(group.victim_in_group.sum()),
                    "register_size": len(group.held),
                }
                for result in attack_group(schema, index, group, seed):
                    result.pop("families", None)
                    rows.append({**context, **result})
                print(
                    f"{family.name} seed {seed} c={coverage}: in group "
                    f"{context['victim_in_group']:.3f} (register {group.register_in_group:.3f})",
                    flush=True,
                )
    return rows
