"""Graph matching attack (GMA) on record-level Bloom filters, as the hub could run it.

What: the hub holds the victims' record filters (CLKs) but not their key. An attacker with a
plaintext register of many of the same persons encodes it with *its own* random key and the
same public schema (Schäfer et al., ACSAC 2024). Bit positions then differ between the two
sets, but Dice similarities *inside* each set approximate the same plaintext similarities,
so the two similarity graphs are near-isomorphic on the persons they share. Aligning the
graphs re-identifies victim rows (Vidanage et al., CIKM 2020; Schäfer et al. 2024).

Why: this is the attack that the literature says breaks unhardened CLKs without any key
(ATTACKS.md §0, §2.8-2.10); the benchmark must show how far the default schema resists it.

How (written here from the published ideas, no attack code copied):

* Similarities: all-pairs Dice inside the victim set and inside the register, float32,
  from packed bits by matrix product. With `families` (hardened schemas: K per-family
  filters side by side, an all-zero block = not in that family), per family and the max
  over the families present in both records.
* Seeded (percolation): each node is described by its similarities to the seed nodes of its
  own graph; victim and register nodes are compared by these profiles (plus the filter's
  fill, which tracks the number of tokens). Mutual best matches with a clear margin join
  the seeds, and the round repeats until the seed set stops growing; a final min-cost
  assignment (Hungarian) and a mutual-best / margin test decide what is claimed.
* Unseeded: key-invariant node features (fill, similarity-distribution profile at several
  thresholds as shares of the graph, top-k neighbour similarities at comparable ranks,
  neighbour-fill statistics, and two rounds of neighbourhood propagation, WL-style) give a
  first alignment; its most confident pairs are checked for mutual consistency (their
  similarities to each other must agree in both graphs) and the consistent core seeds the
  percolation above.

Run `python -m benchmarks.privacy.graph_matching --records 1000` for a self-check on
synthetic persons.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from linkage.synth.people import Person

Filters = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]

BLOCK_ROWS = 2048  # rows per block of the all-pairs products (memory: block x n float32)
MAX_ROUNDS = 40
MAX_PROFILE_SEEDS = 600  # seed columns used per profile
SIM_QUANTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9)
START_DIMS = (32, 24, 40, 28, 36, 20, 48, 16, 44, 12)  # sizes of the moment-matched start
PROCRUSTES_STEPS = (32, 48, 64, 96, 128)
ICP_ROUNDS = 10
ALIGNMENTS_TRIED = 3
PERCOLATED = 0.03  # share of nodes a right start grows to, at the least
PERCOLATED_MIN = 100  # wrong starts stall at about 50 pairs (1,000-3,000 nodes)
FILL_WEIGHT = 2.0  # the fill coordinate, in standard deviations of the fill


# --------------------------------------------------------------------------- similarities


def _bits(filters: Filters) -> Floats:
    return np.unpackbits(filters, axis=1).astype(np.float32)


def _dice_one(left: Floats, right: Floats) -> Floats:
    """Dice of every left row with every right row (unpacked 0/1 rows), block-wise."""
    left_fill = left.sum(axis=1)
    right_fill = right.sum(axis=1)
    out = np.zeros((left.shape[0], right.shape[0]), dtype=np.float32)
    for start in range(0, left.shape[0], BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, left.shape[0])
        inter = left[start:stop] @ right.T
        total = left_fill[start:stop, None] + right_fill[None, :]
        np.divide(2.0 * inter, total, out=out[start:stop], where=total > 0)
    return out


def family_blocks(filters: Filters, families: int) -> list[Filters]:
    """Split rows of K concatenated per-family filters into K equal blocks."""
    if families < 1 or filters.shape[1] % families:
        raise ValueError(f"{filters.shape[1]} bytes do not split into {families} families")
    width = filters.shape[1] // families
    return [filters[:, k * width : (k + 1) * width] for k in range(families)]


def dice_matrix(filters: Filters, families: int = 1) -> Floats:
    """All-pairs Dice inside one set; per family, max over families both records are in.

    The diagonal is set to 0 so that a node is never its own neighbour.
    """
    best: Floats | None = None
    for block in family_blocks(filters, families):
        bits = _bits(block)
        present = bits.any(axis=1)
        sims = _dice_one(bits, bits)
        sims[~present, :] = 0.0
        sims[:, ~present] = 0.0
        best = sims if best is None else np.maximum(best, sims)
    if best is None:
        raise ValueError("no family")
    np.fill_diagonal(best, 0.0)
    return best


def fill_of(filters: Filters, families: int = 1) -> Floats:
    """Share of set bits per record (over the families it is in): tracks its token count."""
    ones = np.unpackbits(filters, axis=1).sum(axis=1).astype(np.float32)
    present = sum(
        (block.any(axis=1)).astype(np.float32) for block in family_blocks(filters, families)
    )
    width = filters.shape[1] * 8 / families
    return np.asarray(ones / np.maximum(present, 1.0) / width, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Graph:
    """One side of the attack: its all-pairs similarities and the fill of each record."""

    sims: Floats  # n x n Dice, diagonal 0
    fill: Floats  # n

    @classmethod
    def of(cls, filters: Filters, families: int = 1) -> Graph:
        return cls(sims=dice_matrix(filters, families), fill=fill_of(filters, families))

    @property
    def size(self) -> int:
        return int(self.sims.shape[0])


# --------------------------------------------------------------------------- seeded attack


def _standardise(victim: Floats, register: Floats) -> tuple[Floats, Floats]:
    """Scale feature columns by a pooled spread so that no feature dominates the distance."""
    both = np.concatenate([victim, register])
    centre = np.median(both, axis=0)
    spread = np.median(np.abs(both - centre), axis=0) * 1.4826 + 1e-6
    return (victim - centre) / spread, (register - centre) / spread


def _sq_distances(left: Floats, right: Floats) -> Floats:
    """Squared Euclidean distances between all rows of left and right, float32."""
    left_norm = np.einsum("ij,ij->i", left, left)
    right_norm = np.einsum("ij,ij->i", right, right)
    dist: Floats = left_norm[:, None] + right_norm[None, :] - 2.0 * (left @ right.T)
    np.maximum(dist, 0.0, out=dist)
    return dist


def _row_z(rows: Floats) -> Floats:
    centred = rows - rows.mean(axis=1, keepdims=True)
    return np.asarray(centred / (centred.std(axis=1, keepdims=True) + 1e-6), dtype=np.float32)


def profile_distances(victim: Graph, register: Graph, seeds: Mapping[int, int]) -> Floats:
    """Distance between every victim and register node, by their similarity-to-seed profiles.

    A victim node's profile is its Dice to each seed victim, a register node's its Dice to
    the matching seed register rows; the same person has nearly the same profile under
    both keys. Each profile is standardised on its own (a typo lowers all similarities of
    a record a little) and the node's fill, standardised over both sets, is added as one
    more coordinate (it counts most while the profiles are short).
    """
    seed_v = np.fromiter(seeds.keys(), dtype=np.int64)
    seed_r = np.fromiter(seeds.values(), dtype=np.int64)
    if len(seeds) > MAX_PROFILE_SEEDS:  # enough to tell nodes apart; keeps rounds cheap
        pick = np.random.default_rng(len(seeds)).choice(len(seeds), MAX_PROFILE_SEEDS, False)
        used_v, used_r = seed_v[pick], seed_r[pick]
    else:
        used_v, used_r = seed_v, seed_r
    left = _row_z(victim.sims[:, used_v])
    right = _row_z(register.sims[:, used_r])
    fills = np.concatenate([victim.fill, register.fill])
    centre, spread = float(fills.mean()), float(fills.std()) + 1e-9
    weight = FILL_WEIGHT / spread
    left = np.hstack([left, weight * (victim.fill[:, None] - centre)]).astype(np.float32)
    right = np.hstack([right, weight * (register.fill[:, None] - centre)]).astype(np.float32)
    dist = _sq_distances(left, right)
    dist[seed_v, :] = np.inf  # seeds are settled
    dist[:, seed_r] = np.inf
    return dist


def mutual_best(dist: Floats, margin: float) -> list[tuple[int, int, float]]:
    """Pairs that are each other's nearest node, with the runner-up `margin` times farther.

    Returns (victim, register, confidence) with confidence = runner-up / best distance ratio
    on the victim side (bigger is surer).
    """
    finite = np.isfinite(dist)
    if not finite.any():
        return []
    work = np.where(finite, dist, np.float32(np.finfo(np.float32).max))
    best_r = work.argmin(axis=1)
    best_v = work.argmin(axis=0)
    rows = np.arange(work.shape[0])
    mutual = (best_v[best_r] == rows) & finite[rows, best_r]
    part = np.partition(work, 1, axis=1)[:, :2] if work.shape[1] > 1 else work
    first = part[:, 0] + 1e-9
    second = part[:, 1] if part.shape[1] > 1 else part[:, 0] * 2
    ratio = second / first
    chosen = np.flatnonzero(mutual & (ratio >= margin))
    return [(int(v), int(best_r[v]), float(ratio[v])) for v in chosen]


def grow_seeds(
    victim: Graph,
    register: Graph,
    seeds: Mapping[int, int],
    *,
    margin: float = 1.5,
    max_rounds: int = MAX_ROUNDS,
) -> dict[int, int]:
    """Percolation: add confident mutual-best pairs to the seeds until none are added.

    Early rounds admit only a few of the surest pairs (the profiles are short and noisy),
    later rounds admit more as the profiles lengthen.
    """
    current = dict(seeds)
    for _ in range(max_rounds):
        dist = profile_distances(victim, register, current)
        found = mutual_best(dist, margin)
        if not found:
            break
        found.sort(key=lambda item: -item[2])
        quota = max(5, 2 * len(current))
        taken_r = set(current.values())
        added = 0
        for v, r, _ in found[:quota]:
            if v not in current and r not in taken_r:
                current[v] = r
                taken_r.add(r)
                added += 1
        if not added:
            break
    return current


def final_assignment(
    victim: Graph, register: Graph, seeds: Mapping[int, int], *, margin: float
) -> dict[int, int]:
    """Min-cost 1-to-1 assignment on the seed profiles; keep seeds and confident pairs."""
    dist = profile_distances(victim, register, seeds)
    cost = np.where(np.isfinite(dist), dist, np.float32(1e12))
    rows, cols = linear_sum_assignment(cost)
    confident = {v: r for v, r, _ in mutual_best(dist, margin)}
    claim = dict(seeds)
    for v, r in zip(rows.tolist(), cols.tolist(), strict=True):
        if confident.get(v) == r:
            claim[v] = r
    return claim


def seeded_attack(
    victim: Graph, register: Graph, seeds: Mapping[int, int], *, margin: float = 1.5
) -> dict[int, int]:
    """Seeded GMA: grow the seeds by percolation, then a confident final assignment."""
    if not seeds:
        return {}
    grown = grow_seeds(victim, register, seeds, margin=margin)
    return final_assignment(victim, register, grown, margin=margin)


# --------------------------------------------------------------------------- unseeded attack


def spectral_embedding(graph: Graph, dims: int, *, seed: int = 0) -> Floats:
    """Top `dims` eigenvectors of the double-centred similarity matrix, scaled (kernel PCA).

    Randomised subspace iteration (a few products with the n x n matrix) instead of a full
    eigendecomposition, so that 6,000 nodes take seconds.
    """
    sims = graph.sims.copy()
    n = graph.size
    np.fill_diagonal(sims, sims.sum(axis=1) / max(n - 1, 1))
    sims -= sims.mean(axis=0, keepdims=True)
    sims -= sims.mean(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((n, dims + 24)).astype(np.float32)
    for _ in range(6):
        basis, _ = np.linalg.qr(sims @ basis)
    small = basis.T @ sims @ basis
    values, vectors = np.linalg.eigh(small.astype(np.float64))
    order = np.argsort(-values)[:dims]
    scale = np.sqrt(np.maximum(values[order], 0.0))
    return np.asarray((basis @ vectors[:, order]) * scale, dtype=np.float32)


def invariant_features(graph: Graph) -> Floats:
    """Per-node features that do not depend on the key: fill and similarity quantiles."""
    sims = graph.sims.copy()
    np.fill_diagonal(sims, sims.mean(axis=1))  # a neutral value instead of the self-pair
    quantiles = np.percentile(sims, SIM_QUANTILES, axis=1).T
    return np.hstack([quantiles, graph.fill[:, None]]).astype(np.float32)


def _indicator_features(victim: Floats, register: Floats) -> tuple[Floats, Floats]:
    """Standardised features and, per feature, indicators of being above its deciles.

    Indicators give the moment matching many columns whose projections on the
    eigenvectors differ, so that they pin down the rotation between the embeddings.
    """
    left, right = _standardise(victim, register)
    both = np.concatenate([left, right])
    edges = np.quantile(both, np.linspace(0.1, 0.9, 9), axis=0)  # 9 x features

    def expand(rows: Floats) -> Floats:
        above = (rows[:, None, :] > edges[None, :, :]).reshape(len(rows), -1)
        out = np.hstack([rows, above.astype(np.float32)])
        return np.asarray(out - out.mean(axis=0), dtype=np.float32)

    return expand(left), expand(right)


def _polar(matrix: npt.NDArray[np.floating]) -> Floats:
    """The orthogonal matrix nearest to `matrix` (orthogonal Procrustes)."""
    u, _, vt = np.linalg.svd(matrix.astype(np.float64))
    return np.asarray(u @ vt, dtype=np.float32)


def _closest_point(left: Floats, right: Floats, rotation: Floats, rounds: int) -> Floats:
    """Iterate: match each victim to its nearest rotated register node, re-fit the rotation."""
    for _ in range(rounds):
        nearest = _sq_distances(left @ rotation, right).argmin(axis=1)
        rotation = _polar(left.T @ right[nearest])
    return rotation


def align_embeddings(left: Floats, right: Floats, rotation: Floats, start: int) -> Floats:
    """Coarse-to-fine Procrustes/closest-point alignment from `start` dims to all dims."""
    dims = left.shape[1]
    steps = sorted({start, *(d for d in PROCRUSTES_STEPS if start < d < dims), dims})
    current = start
    for step in steps:
        grown = np.eye(step, dtype=np.float32)
        grown[:current, :current] = rotation
        rotation = _closest_point(left[:, :step], right[:, :step], grown, ICP_ROUNDS)
        current = step
    return rotation


@dataclass(frozen=True, slots=True)
class Alignment:
    """One attempt at rotating the victim embedding onto the register's."""

    start_dims: int
    objective: float  # mean squared distance of each victim to its nearest register node
    distances: Floats


def embedding_alignments(
    victim: Graph, register: Graph, *, dims: int = 64, budget_s: float = 60.0
) -> list[Alignment]:
    """Try moment-matched starting rotations at several sizes; best objective first.

    A start rotation comes from the cross-covariance of each embedding with the same
    key-invariant features (`invariant_features`): for the right rotation the two agree.
    The right rotation shows itself by a much lower nearest-neighbour objective.
    """
    started = time.perf_counter()
    # Small graphs (a salt group of a few dozen records) have fewer dimensions to give.
    dims = min(dims, victim.size - 1, register.size - 1)
    left = spectral_embedding(victim, dims)
    right = spectral_embedding(register, dims)
    feat_v, feat_r = _indicator_features(invariant_features(victim), invariant_features(register))
    feat_v = np.hstack([feat_v, _smooth(victim, feat_v)])
    feat_r = np.hstack([feat_r, _smooth(register, feat_r)])
    found: list[Alignment] = []
    for start in START_DIMS:
        if start > dims or time.perf_counter() - started > budget_s:
            break
        moments = (left[:, :start].T @ feat_v / len(left)) @ (
            right[:, :start].T @ feat_r / len(right)
        ).T
        rotation = align_embeddings(left, right, _polar(moments), start)
        dist = _sq_distances(left @ rotation, right)
        found.append(Alignment(start, float(dist.min(axis=1).mean()), dist))
        if _clear_winner(found):
            break
    return sorted(found, key=lambda item: item.objective)


def _smooth(graph: Graph, features: Floats, top: int = 10) -> Floats:
    """Mean features of each node's `top` most similar nodes (one WL-style round)."""
    neighbours = np.argpartition(-graph.sims, top, axis=1)[:, :top]
    out = features[neighbours].mean(axis=1)
    return np.asarray(out - out.mean(axis=0), dtype=np.float32)


def _clear_winner(found: Sequence[Alignment]) -> bool:
    """An objective far below the median of the attempts marks a found alignment."""
    if len(found) < 3:
        return False
    values = sorted(item.objective for item in found)
    return values[0] < 0.7 * float(np.median(values))


def clean_seeds(
    victim: Graph, register: Graph, pairs: Sequence[tuple[int, int]], *, keep: int = 20
) -> dict[int, int]:
    """Drop candidate pairs whose similarities to the other candidates disagree most.

    A correct pair's profile over the other candidate pairs agrees in both graphs; a wrong
    one's does not. The worst fifth is dropped until `keep` pairs remain.
    """
    current = list(dict(pairs).items())
    while len(current) > keep:
        vs = np.array([v for v, _ in current])
        rs = np.array([r for _, r in current])
        gap = (_row_z(victim.sims[np.ix_(vs, vs)]) - _row_z(register.sims[np.ix_(rs, rs)])) ** 2
        np.fill_diagonal(gap, 0.0)
        order = np.argsort(gap.sum(axis=1))
        current = [current[i] for i in order[: max(keep, int(len(current) * 0.8))]]
    return dict(current)


def unseeded_seeds(
    victim: Graph, register: Graph, *, candidates: int = 200, budget_s: float = 120.0
) -> dict[int, int]:
    """Bootstrap seeds without any known pair.

    Embedding alignments are tried (best objective first); the confident mutual nearest
    pairs of each are cleaned and grown by percolation, and the attempt whose seeds grow
    furthest wins (right seeds percolate through the graph, wrong ones stall). When none
    grows past `PERCOLATED_MIN` pairs the attacker knows it failed and claims nothing.
    """
    best: dict[int, int] = {}
    enough = max(PERCOLATED_MIN, PERCOLATED * min(victim.size, register.size))
    for alignment in embedding_alignments(victim, register, budget_s=budget_s)[:ALIGNMENTS_TRIED]:
        found = mutual_best(alignment.distances, 1.0)
        found.sort(key=lambda item: -item[2])
        pairs = [(v, r) for v, r, _ in found[:candidates]]
        if len(pairs) < 10:
            continue
        grown = grow_seeds(victim, register, clean_seeds(victim, register, pairs))
        if len(grown) > len(best):
            best = grown
        if len(best) >= enough:
            break  # right seeds percolate; wrong ones stall far below this
    return best if len(best) >= enough else {}  # a stalled start: claim nothing


# --------------------------------------------------------------------------- entry point


def score(claim: Mapping[int, int], truth: npt.NDArray[np.int64], rows: int) -> dict[str, float]:
    """Re-identification (correct / victim rows) and precision (correct / claimed)."""
    correct = sum(1 for v, r in claim.items() if truth[v] == r and r >= 0)
    return {
        "reidentified": correct / rows if rows else 0.0,
        "precision": correct / len(claim) if claim else 0.0,
        "claimed": float(len(claim)),
        "correct": float(correct),
    }


def attack(
    victim: Filters,
    register: Filters,
    truth: npt.NDArray[np.int64],
    seeds: dict[int, int] | None = None,
    *,
    families: int = 1,
) -> dict[str, float]:
    """Run the GMA and score it against `truth` (which the attack itself never reads).

    Args:
        victim: The victims' record filters, rows x bytes (unknown key).
        register: The attacker's register, encoded with its own key and the same schema.
        truth: For each victim row the register row of the same person, or -1.
        seeds: Known correct pairs victim row -> register row; None: unseeded attack.
        families: Per-family filters per row (hardened schemas), 1 for a plain CLK.

    Returns:
        reidentified, precision, claimed, correct, seeds_given,
        reidentified_beyond_seeds (correct claims that were not given seeds) and seconds.
    """
    started = time.perf_counter()
    left = Graph.of(victim, families)
    right = Graph.of(register, families)
    start_seeds = dict(seeds) if seeds else unseeded_seeds(left, right)
    claim = seeded_attack(left, right, start_seeds)
    result = score(claim, np.asarray(truth), victim.shape[0])
    given = seeds or {}
    result["seeds_given"] = float(len(given))
    beyond = sum(1 for v, r in claim.items() if truth[v] == r and v not in given)
    result["reidentified_beyond_seeds"] = beyond / max(victim.shape[0] - len(given), 1)
    result["seconds"] = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------- self-check data


FIELDS = (
    "given_names",
    "surnames",
    "date_of_birth",
    "sex",
    "nationality",
    "phone",
    "postcode",
    "city",
    "document_number",
)


def person_record(
    person: Person, rng: random.Random | None = None, typo_share: float = 0.0
) -> dict[str, str]:
    """A raw record (schema field -> text) of a synthetic person, with an optional name typo."""
    from linkage.synth.distort import distort_one_word, typo

    given = tuple(person.given_names)
    surnames = tuple(person.surnames)
    if rng is not None and rng.random() < typo_share:
        if rng.random() < 0.5:
            given = distort_one_word(rng, given, typo)
        else:
            surnames = distort_one_word(rng, surnames, typo)
    return {
        "given_names": " ".join(given),
        "surnames": " ".join(surnames),
        "date_of_birth": person.birth.isoformat(),
        "sex": person.sex,
        "nationality": person.origin.value,
        "phone": person.phones[0],
        "postcode": person.home.postcode,
        "city": person.home.city.name,
        "document_number": person.document,
    }


@dataclass(frozen=True, slots=True)
class Scenario:
    """Victim filters, the attacker's register filters and the truth between them."""

    victim: Filters
    register: Filters
    truth: Ints


def make_scenario(
    records: int,
    coverage: float,
    *,
    seed: int = 0,
    schema_name: str = "person-classic",
    salt_field: str | None = None,
    extra: int | None = None,
    typo_share: float = 0.15,
) -> Scenario:
    """Synthetic victims and a register holding `coverage` of them plus `extra` others.

    The victim file has `records` persons, 15 % with a name typo; the register holds the
    clean records of round(coverage x records) of them plus `extra` (default: `records`)
    persons not in the victim file, shuffled. Each side is encoded with its own random key.
    """
    from keys import LinkageSecret
    from linkage.encode import encode_records
    from linkage.schema import load_schema
    from linkage.synth.people import make_people

    rng = random.Random(seed)
    extra = records if extra is None else extra
    people = make_people(records + extra, random.Random(seed + 1))
    order = list(range(len(people)))
    rng.shuffle(order)
    victims = order[:records]
    covered = victims[: round(coverage * records)]
    register_people = covered + order[records : records + extra]
    rng.shuffle(register_people)
    where = {person: row for row, person in enumerate(register_people)}
    truth = np.array([where.get(person, -1) for person in victims], dtype=np.int64)
    schema = load_schema(schema_name)
    if salt_field is not None:
        hardening = schema.hardening.model_copy(update={"salt_field": salt_field})
        schema = schema.model_copy(update={"hardening": hardening})
    victim_rows = [person_record(people[i], rng, typo_share) for i in victims]
    register_rows = [person_record(people[i]) for i in register_people]
    victim_key = LinkageSecret(project="victims", value=os.urandom(32))
    attacker_key = LinkageSecret(project="attacker", value=os.urandom(32))
    return Scenario(
        victim=encode_records(victim_rows, schema, victim_key).filters,
        register=encode_records(register_rows, schema, attacker_key).filters,
        truth=truth,
    )


def random_seeds(truth: Ints, count: int, seed: int) -> dict[int, int]:
    """`count` true pairs drawn at random among the covered victims."""
    covered = np.flatnonzero(truth >= 0)
    chosen = np.random.default_rng(seed).choice(
        covered, size=min(count, len(covered)), replace=False
    )
    return {int(v): int(truth[v]) for v in chosen}


def main(argv: Sequence[str] | None = None) -> None:
    """Print unseeded and seeded re-identification on a synthetic scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--coverage", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--schema", default="person-classic")
    parser.add_argument("--salt-field", default=None, help="e.g. date_of_birth")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 10, 50])
    args = parser.parse_args(argv)
    scenario = make_scenario(
        args.records,
        args.coverage,
        seed=args.seed,
        schema_name=args.schema,
        salt_field=args.salt_field,
    )
    print(
        f"victims={len(scenario.victim)} register={len(scenario.register)} "
        f"covered={(scenario.truth >= 0).sum()} schema={args.schema} salt={args.salt_field}"
    )
    for count in args.seeds:
        seeds = random_seeds(scenario.truth, count, args.seed) if count else None
        result = attack(scenario.victim, scenario.register, scenario.truth, seeds)
        label = f"seeded({count})" if count else "unseeded"
        print(label, " ".join(f"{key}={value:.3f}" for key, value in result.items()))


if __name__ == "__main__":
    main()
