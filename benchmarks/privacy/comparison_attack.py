"""The hub's attack, without the key, on the per-field comparison encodings.

What the hub sees: each record's comparison encoding (`linkage.comparisons`): small keyed
bigram Bloom filters of the first given name and first surname (which share one key,
being compared crosswise), exact 64-bit tags of phone, postcode and document, and the
date tags (full, swapped, and three 8-bit partial tags). What the attacker adds: a
plaintext register holding a share of the victim's persons, and the public code (the
normaliser, q = 2 with padding, the bits per token from the schema).

Steps (clean-room, after the published ideas; ATTACKS.md sections 2.4, 2.5):

a. Frequency alignment: identical name filters are grouped; the most frequent (up to
   `ALIGN`) are paired by rank with the register's most frequent names.
b. Bit-position cryptanalysis (Christen et al., PAKDD 2017): from the paired filters,
   learn for every bigram which bit positions it sets (positions set in nearly every
   filter of a name holding the bigram; a bit left unset rules a bigram out for it).
   Every distinct filter is then decoded against every register name: a name whose
   predicted bits are not all set in the filter is ruled out; among the others the one
   that explains the filter best wins, when it alone does. The confident decodings are
   fed back as the new pairing, and the two steps repeat (`ROUNDS`).
c. Tag codebooks: records whose two names decode to exactly one register person give
   (tag -> value) pairs: exact tags and full date tags become lookup tables, and the
   8-bit partial date tags become learned functions of year-month, year-day, month-day.
d. Re-identification: each victim record is matched to the register persons consistent
   with everything decoded (names, tags through the tables and functions); it counts as
   re-identified only when exactly one person remains and that is the true person.

A schema with salt families is attacked one family block at a time; the report gives
the best family and the union (a record counts when any family's attack got it right).
"""

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.privacy.population import PlainRecord, family_blocks, normalized_column
from linkage.match.layout import ComparisonLayout
from linkage.schema import LinkageSchema

ALIGN = 400  # filters paired by frequency rank (the classical start, kept for comparison)
TOP_FILTERS = 60  # most frequent filters paired by frequency and structure at the start
CANDIDATES = 400  # most frequent register names they may be paired with
BRANCH = 30  # names tried per filter (best node fit)
BEAM = 40  # partial assignments kept
MARGIN = 3.0  # log-likelihood lead a decoding needs over the next best name
ROUNDS = 6  # learn positions, decode, learn again from the decodings
SHARE = 0.8  # a bigram sets a position when that many of its paired filters have it set
EXACT_TAGS = ("phone", "postcode", "document_number")
PARTIALS = ("ym", "yd", "md")  # the 8-bit date tags in the third date word, low bits first
Bits = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]


# --------------------------------------------------------------------------- slots


def slot_bits(words: Words, layout: ComparisonLayout, name: str) -> Bits:
    """A bloom comparison's bits, rows x (64 * slot words), 0/1."""
    entry = next(e for e in layout.entries if e.name == name)
    chunk = np.ascontiguousarray(words[:, entry.offset : entry.offset + entry.words])
    return np.unpackbits(chunk.view(np.uint8), axis=1, bitorder="little")


def present(words: Words, layout: ComparisonLayout, name: str) -> npt.NDArray[np.bool_]:
    """Whether each row has a value for the comparison (the presence mask, word 0)."""
    index = layout.names.index(name)
    return ((words[:, 0] >> np.uint64(index)) & np.uint64(1)).astype(bool)


def bigrams(word: str) -> list[str]:
    """The padded bigrams the encoder hashes for one word ("\x02" start, "\x03" end)."""
    padded = f"\x02{word}\x03"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def first_word(value: str | None) -> str | None:
    """The first space-separated word of a normalised value (the 'first' part)."""
    return value.split(" ")[0] if value else None


# --------------------------------------------------------------------------- names (a, b)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The register's candidate names and their bigrams (names x bigrams, 0/1)."""

    names: tuple[str, ...]
    grams: tuple[str, ...]
    matrix: npt.NDArray[np.float32]

    @classmethod
    def of(cls, names: Sequence[str]) -> "Vocabulary":
        """Index the names' bigrams."""
        ordered = tuple(sorted(set(names)))
        grams = tuple(sorted({g for name in ordered for g in bigrams(name)}))
        where = {gram: index for index, gram in enumerate(grams)}
        matrix = np.zeros((len(ordered), len(grams)), dtype=np.float32)
        for row, name in enumerate(ordered):
            matrix[row, [where[g] for g in bigrams(name)]] = 1.0
        return cls(ordered, grams, matrix)


def distinct_filters(bits: Bits, mask: npt.NDArray[np.bool_]) -> tuple[Bits, Ints, Ints]:
    """Distinct filters among present rows, their counts, and each row's filter (-1: none)."""
    rows = np.flatnonzero(mask)
    unique, inverse, counts = np.unique(bits[rows], axis=0, return_inverse=True, return_counts=True)
    owner = np.full(len(bits), -1, dtype=np.int64)
    owner[rows] = inverse.reshape(-1)
    return unique, counts, owner


def rank_pairs(
    counts: Ints, names: Counter[str], vocab: Vocabulary, limit: int = ALIGN
) -> list[tuple[int, int]]:
    """(filter, name) pairs by frequency rank alone: the k-th most frequent of each.

    Kept for comparison: on a few thousand records name frequencies are too flat for it
    (a few per cent of pairs right); `structural_pairs` is what the attack uses.
    """
    filters = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i] > 1]
    ranked = [name for name, _ in names.most_common()]
    index = {name: i for i, name in enumerate(vocab.names)}
    return [(f, index[n]) for f, n in zip(filters[:limit], ranked[:limit], strict=False)]


def _expected_bits(grams: npt.NDArray[np.float64], per_token: int, width: int) -> Any:
    return width * (1.0 - (1.0 - 1.0 / width) ** (per_token * grams))


def _node_prior(
    filters: Bits, counts: Ints, candidates: Sequence[str], names: Counter[str], per_token: int
) -> npt.NDArray[np.float64]:
    # log P(count | the name's register frequency) + log P(popcount | its bigram count)
    from scipy.stats import poisson  # type: ignore[import-untyped]

    scale = counts.sum() / max(sum(names.values()), 1)
    rates = np.maximum(np.array([names[n] for n in candidates], dtype=np.float64) * scale, 0.2)
    grams = np.array([len(set(bigrams(n))) for n in candidates], dtype=np.float64)
    mean = _expected_bits(grams, per_token, filters.shape[1])
    spread = np.sqrt(np.maximum(0.1 * mean, 1.0)) + 0.5
    ones = filters.sum(axis=1).astype(np.float64)[:, None]
    frequency = poisson.logpmf(counts[:, None], rates[None, :])
    return np.asarray(frequency - 0.5 * ((ones - mean[None, :]) / spread[None, :]) ** 2)


def _pair_likelihood(
    overlap: float, shared: Ints, ones: tuple[float, float], per_token: int, width: int
) -> npt.NDArray[np.float64]:
    # Two filters share the bits of their shared bigrams, plus chance overlaps.
    common = _expected_bits(shared.astype(np.float64), per_token, width)
    chance = np.maximum((ones[0] - common) * (ones[1] - common) / np.maximum(width - common, 1), 0)
    return np.asarray(-0.5 * ((overlap - common - chance) / np.sqrt(chance + 1.0)) ** 2)


def structural_pairs(
    filters: Bits,
    counts: Ints,
    names: Counter[str],
    vocab: Vocabulary,
    per_token: int,
    top: int = TOP_FILTERS,
) -> list[tuple[int, int]]:
    """Pair the most frequent filters with register names, frequency and structure together.

    Frequency alone cannot rank flat name distributions; but the bits two filters share
    are about the bits of the bigrams their names share. A beam search assigns the `top`
    most frequent filters, in order, to distinct names, scoring each assignment by the
    frequency and popcount fit of every pair (filter, name) and by how well the overlap of
    every two filters matches the bigrams their two names share.
    """
    order = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i] > 1][:top]
    if not order:
        return []
    candidates = [name for name, _ in names.most_common(CANDIDATES)]
    grams = [set(bigrams(name)) for name in candidates]
    shared = np.array([[len(a & b) for b in grams] for a in grams], dtype=np.int64)
    chosen = filters[order].astype(np.float64)
    overlaps, ones = chosen @ chosen.T, chosen.sum(axis=1)
    prior = _node_prior(filters[order], counts[order], candidates, names, per_token)
    beam: list[tuple[float, list[int]]] = [(0.0, [])]
    paired: list[int] = []  # steps assigned (a filter whose options are all taken is skipped)
    for step in range(len(order)):
        options = np.argsort(-prior[step])[:BRANCH]
        grown = []
        for total, assigned in beam:
            gain = prior[step, options].copy()
            for before, name in zip(paired, assigned, strict=True):
                gain += _pair_likelihood(
                    overlaps[before, step],
                    shared[name, options],
                    (ones[before], ones[step]),
                    per_token,
                    filters.shape[1],
                )
            taken = set(assigned)
            grown += [
                (total + g, [*assigned, int(o)])
                for o, g in zip(options, gain, strict=True)
                if o not in taken
            ]
        if not grown:  # every beam already holds this filter's best names: skip it
            continue
        paired.append(step)
        beam = sorted(grown, key=lambda item: -item[0])[:BEAM]
    index = {name: i for i, name in enumerate(vocab.names)}
    best = beam[0][1]
    return [(order[s], index[candidates[n]]) for s, n in zip(paired, best, strict=True)]


def learn_positions(
    filters: Bits, pairs: Sequence[tuple[int, int]], vocab: Vocabulary, per_token: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Per bigram, the positions it sets (bigrams x bits, 0/1) and whether that is known.

    A bigram sets a position when nearly every paired filter of a name holding it has the
    position set. Bits that the name's known bigrams already explain are then taken away
    (explaining away), so a bigram seen in one name only is learnt from what is left, once
    its other bigrams are known; this repeats while it learns more.
    """
    width = filters.shape[1]
    positions = np.zeros((len(vocab.grams), width), np.float32)
    known = np.zeros(len(vocab.grams), bool)
    if not pairs:
        return positions, known
    grams = vocab.matrix[[name for _, name in pairs]]  # pairs x bigrams
    seen = filters[[f for f, _ in pairs]].astype(np.float32)  # pairs x bits
    holders = np.maximum(grams.sum(axis=0), 1)[:, None]
    for _ in range(8):
        explained = (grams[:, known] @ positions[known]) > 0  # pairs x bits
        found = (grams.T @ (seen * ~explained)) / holders >= SHARE
        size = found.sum(axis=1)
        new = ~known & (size >= 1) & (size <= per_token)
        if not new.any():
            break
        positions[new] = found[new]
        known |= new
    return positions, known


@dataclass(frozen=True, slots=True)
class Decoding:
    """For each distinct filter, the decoded name index (-1: none) and the margin."""

    names: Ints
    margin: npt.NDArray[np.float64]  # log-likelihood lead over the runner-up


def decode_filters(
    filters: Bits,
    vocab: Vocabulary,
    positions: npt.NDArray[np.float32],
    known: npt.NDArray[np.bool_],
    per_token: int,
) -> Decoding:
    """Decode each distinct filter to the one register name that fits it best, if any.

    A name is ruled out when a bit its known bigrams set is unset in the filter. The
    others are scored by the likelihood of the bits left unexplained: their number given
    how many of the name's bigrams are unknown, and which ones they are (any set of that
    size, equally likely). The best name wins when it leads the runner-up by `MARGIN`.
    """
    from scipy.special import gammaln  # type: ignore[import-untyped]
    from scipy.stats import poisson

    width = filters.shape[1]
    predicted = ((vocab.matrix[:, known] @ positions[known]) > 0).astype(np.float32)
    unknown = vocab.matrix[:, ~known].sum(axis=1)
    seen = filters.astype(np.float32)
    extra = predicted @ (1.0 - seen).T  # names x filters: predicted but unset
    hit = predicted @ seen.T
    left = (seen.sum(axis=1)[None, :] - hit).astype(np.float64)  # unexplained bits
    free = (width - predicted.sum(axis=1)).astype(np.float64)[:, None]
    expected = free * (1.0 - (1.0 - 1.0 / width) ** (per_token * unknown[:, None]))
    ways = gammaln(free + 1) - gammaln(left + 1) - gammaln(np.maximum(free - left, 0) + 1)
    score = poisson.logpmf(left, np.maximum(expected, 1e-3)) - ways
    score = np.where((extra == 0) & (hit > 0), score, -np.inf)
    columns = np.arange(score.shape[1])
    best = np.argmax(score, axis=0)
    top = score[best, columns]
    score[best, columns] = -np.inf
    runner = score.max(axis=0)
    margin = np.where(np.isfinite(runner), top - np.where(np.isfinite(runner), runner, 0), 99.0)
    margin = np.where(np.isfinite(top), margin, 0.0)
    unique = np.isfinite(top) & (margin >= MARGIN)
    return Decoding(np.where(unique, best, -1).astype(np.int64), margin)


def decode_slots(
    slots: Sequence[tuple[Bits, npt.NDArray[np.bool_], Counter[str]]],
    vocab: Vocabulary,
    per_token: int,
) -> list[Ints]:
    """Decode slots that share one key; returns each row's name index per slot (-1)."""
    groups = [distinct_filters(bits, mask) for bits, mask, _ in slots]
    pairs = [
        structural_pairs(unique, counts, names, vocab, per_token)
        for (unique, counts, _), (_, _, names) in zip(groups, slots, strict=True)
    ]
    decodings: list[Decoding] = []
    for _ in range(ROUNDS):
        positions, known = _pooled(groups, pairs, vocab, per_token)
        decodings = [decode_filters(g[0], vocab, positions, known, per_token) for g in groups]
        pairs = [_confident(d) for d in decodings]
    return [
        np.where(owner >= 0, decoding.names[np.maximum(owner, 0)], -1)
        for (_, _, owner), decoding in zip(groups, decodings, strict=True)
    ]


def _pooled(
    groups: Sequence[tuple[Bits, Ints, Ints]],
    pairs: Sequence[Sequence[tuple[int, int]]],
    vocab: Vocabulary,
    per_token: int,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    # The slots share a key: pool their pairs into one filter set and learn once.
    stacked = np.concatenate([g[0] for g in groups])
    offsets = np.cumsum([0, *[len(g[0]) for g in groups]])
    pooled = [(f + int(offsets[i]), n) for i, slot in enumerate(pairs) for f, n in slot]
    return learn_positions(stacked, pooled, vocab, per_token)


def _confident(decoding: Decoding) -> list[tuple[int, int]]:
    return [(int(f), int(n)) for f, n in enumerate(decoding.names) if n >= 0]


# --------------------------------------------------------------------------- tags (c)


@dataclass(frozen=True, slots=True)
class VictimTags:
    """The victim's tags per comparison (0 where missing) for one family block."""

    exact: dict[str, npt.NDArray[np.uint64]]
    full: npt.NDArray[np.uint64]
    partial: dict[str, npt.NDArray[np.uint64]]

    @classmethod
    def of(cls, words: Words, layout: ComparisonLayout) -> "VictimTags":
        """Read the tags out of the comparison words."""
        offsets = {entry.name: entry.offset for entry in layout.entries}
        exact = {
            name: np.where(present(words, layout, name), words[:, offsets[name]], 0)
            for name in EXACT_TAGS
            if name in offsets
        }
        date = offsets["date_of_birth"]
        packed = words[:, date + 2]
        partial = {
            name: np.where(words[:, date] != 0, (packed >> np.uint64(8 * i)) & np.uint64(0xFF), 0)
            + np.where(words[:, date] != 0, np.uint64(1), np.uint64(0))  # 0 stays "missing"
            for i, name in enumerate(PARTIALS)
        }
        return cls(exact=exact, full=words[:, date].copy(), partial=partial)


@dataclass(frozen=True, slots=True)
class RegisterValues:
    """The register's normalised values as integer codes (-1: missing)."""

    given: Ints
    surname: Ints
    exact: dict[str, Ints]
    date: Ints
    partial: dict[str, Ints]


def _codes(values: Sequence[str | None]) -> Ints:
    index: dict[str, int] = {}
    return np.array(
        [-1 if v is None else index.setdefault(v, len(index)) for v in values], dtype=np.int64
    )


def register_values(
    schema: LinkageSchema, held: Sequence[PlainRecord], vocab: Vocabulary
) -> RegisterValues:
    """Normalise the register as the encoder would, and code every value as an integer."""
    where = {name: i for i, name in enumerate(vocab.names)}
    given = [first_word(v) for v in normalized_column(schema, held, "given_names")]
    surname = [first_word(v) for v in normalized_column(schema, held, "surnames")]
    dates = normalized_column(schema, held, "date_of_birth")
    parts = {
        "ym": [d[:7] if d else None for d in dates],
        "yd": [d[:4] + d[8:] if d else None for d in dates],
        "md": [d[5:] if d else None for d in dates],
    }
    return RegisterValues(
        given=np.array([where.get(n, -1) if n else -1 for n in given], dtype=np.int64),
        surname=np.array([where.get(n, -1) if n else -1 for n in surname], dtype=np.int64),
        exact={f: _codes(normalized_column(schema, held, f)) for f in EXACT_TAGS},
        date=_codes(dates),
        partial={name: _codes(values) for name, values in parts.items()},
    )


@dataclass(frozen=True, slots=True)
class Codebooks:
    """What the decoded records taught: tag -> register value code, and value -> tag."""

    forward: dict[str, dict[int, int]]  # comparison -> victim tag -> register value code
    backward: dict[str, dict[int, int]]  # comparison -> register value code -> tag


def learn_codebooks(claims: Ints, tags: VictimTags, reg: RegisterValues) -> Codebooks:
    """Majority (tag, value) pairs over the claimed records, per comparison."""
    rows = np.flatnonzero(claims >= 0)
    people = claims[rows]
    sources: dict[str, tuple[npt.NDArray[np.uint64], Ints]] = {
        name: (tags.exact[name], reg.exact[name]) for name in tags.exact
    }
    sources["date"] = (tags.full, reg.date)
    for name in PARTIALS:
        sources[name] = (tags.partial[name], reg.partial[name])
    forward: dict[str, dict[int, int]] = {}
    backward: dict[str, dict[int, int]] = {}
    for name, (victim, register) in sources.items():
        pairs = [
            (int(t), int(v))
            for t, v in zip(victim[rows], register[people], strict=True)
            if t != 0 and v >= 0
        ]
        backward[name] = _majority((v, t) for t, v in pairs)
        if name not in PARTIALS:  # partial tags stand for several values: no forward table
            forward[name] = _majority(pairs)
    return Codebooks(forward, backward)


def _majority(pairs: Any) -> dict[int, int]:
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    for key, value in pairs:
        votes[key][value] += 1
    out = {}
    for key, counter in votes.items():
        (value, count), total = counter.most_common(1)[0], sum(counter.values())
        if count * 2 > total:
            out[key] = value
    return out


# --------------------------------------------------------------------------- claims (d)


def claim(
    given: Ints,
    surname: Ints,
    tags: VictimTags,
    reg: RegisterValues,
    books: Codebooks | None,
    chunk: int = 512,
) -> Ints:
    """For each victim record, the one consistent register person, or -1."""
    out = np.full(len(given), -1, dtype=np.int64)
    for start in range(0, len(given), chunk):
        stop = min(start + chunk, len(given))
        ok = _names_consistent(given[start:stop], surname[start:stop], reg)
        if books is None:  # names alone: only records whose two names were decoded
            ok &= ((given[start:stop] >= 0) & (surname[start:stop] >= 0))[:, None]
        else:
            ok &= _tags_consistent(tags, reg, books, slice(start, stop))
        single = ok.sum(axis=1) == 1
        out[start:stop] = np.where(single, np.argmax(ok, axis=1), -1)
    return out


def _names_consistent(given: Ints, surname: Ints, reg: RegisterValues) -> npt.NDArray[np.bool_]:
    ok: npt.NDArray[np.bool_] = (given[:, None] < 0) | (given[:, None] == reg.given[None, :])
    ok &= (surname[:, None] < 0) | (surname[:, None] == reg.surname[None, :])
    return ok


def _tags_consistent(
    tags: VictimTags, reg: RegisterValues, books: Codebooks, rows: slice
) -> npt.NDArray[np.bool_]:
    sources: dict[str, tuple[npt.NDArray[np.uint64], Ints]] = {
        name: (tags.exact[name][rows], reg.exact[name]) for name in tags.exact
    }
    sources["date"] = (tags.full[rows], reg.date)
    for name in PARTIALS:
        sources[name] = (tags.partial[name][rows], reg.partial[name])
    ok = np.ones((rows.stop - rows.start, len(reg.given)), dtype=bool)
    for name, (victim, register) in sources.items():
        back = books.backward[name]
        expected = np.array([back.get(int(v), 0) for v in register], dtype=np.uint64)
        checked = (victim != 0)[:, None] & (expected != 0)[None, :]
        ok &= ~checked | (victim[:, None] == expected[None, :])
        forward = books.forward.get(name)
        if forward:
            value = np.array([forward.get(int(t), -1) if t else -1 for t in victim], np.int64)
            ok &= (value[:, None] < 0) | (value[:, None] == register[None, :])
    return ok


# --------------------------------------------------------------------------- the attack


@dataclass(frozen=True, slots=True)
class FamilyResult:
    """One family block's outcome: per victim record, the claim and decoded names."""

    claims: Ints
    given: Ints
    surname: Ints


def attack_family(
    words: Words,
    rows: npt.NDArray[np.bool_],
    layout: ComparisonLayout,
    schema: LinkageSchema,
    held: Sequence[PlainRecord],
    reg: RegisterValues,
    vocab: Vocabulary,
) -> FamilyResult:
    """Steps a-d on one family's comparison words (rows outside the family are skipped)."""
    per_token = next(s.bits_per_token for s in schema.comparisons if s.name == "first_given")
    counts_given = Counter(vocab.names[i] for i in reg.given if i >= 0)
    counts_surname = Counter(vocab.names[i] for i in reg.surname if i >= 0)
    slots = [
        (
            slot_bits(words, layout, "first_given"),
            rows & present(words, layout, "first_given"),
            counts_given,
        ),
        (
            slot_bits(words, layout, "first_surname"),
            rows & present(words, layout, "first_surname"),
            counts_surname,
        ),
    ]
    given, surname = decode_slots(slots, vocab, per_token)
    tags = VictimTags.of(words, layout)
    claims = claim(given, surname, tags, reg, None)
    for _ in range(2):
        books = learn_codebooks(claims, tags, reg)
        claims = claim(given, surname, tags, reg, books)
    claims[~rows] = -1
    return FamilyResult(claims, given, surname)


def attack(
    comparisons: npt.NDArray[np.uint8],
    layout: ComparisonLayout,
    schema: LinkageSchema,
    victim: Sequence[PlainRecord],
    held: Sequence[PlainRecord],
) -> dict[str, Any]:
    """Run the attack on every family block and score it (victim values: scoring only)."""
    start = time.perf_counter()
    given_words = [first_word(v) for v in normalized_column(schema, held, "given_names")]
    surname_words = [first_word(v) for v in normalized_column(schema, held, "surnames")]
    vocab = Vocabulary.of([w for w in given_words + surname_words if w])
    reg = register_values(schema, held, vocab)
    results = [
        attack_family(words, rows, layout, schema, held, reg, vocab)
        for words, rows in family_blocks(comparisons, layout)
    ]
    report = score(results, schema, victim, held, vocab)
    report["seconds"] = time.perf_counter() - start
    return report


def score(
    results: Sequence[FamilyResult],
    schema: LinkageSchema,
    victim: Sequence[PlainRecord],
    held: Sequence[PlainRecord],
    vocab: Vocabulary,
) -> dict[str, Any]:
    """Re-identification (best family, union), name decoding and the claims' precision."""
    truth = np.array([r.person_id for r in victim])
    ids = np.array([r.person_id for r in held] + [""])
    true_given = [first_word(v) for v in normalized_column(schema, victim, "given_names")]
    true_surname = [first_word(v) for v in normalized_column(schema, victim, "surnames")]
    names = np.array([*vocab.names, ""])
    per_family = []
    correct_any = np.zeros(len(victim), dtype=bool)
    claimed_any = np.zeros(len(victim), dtype=bool)
    given_any = np.zeros(len(victim), dtype=bool)
    surname_any = np.zeros(len(victim), dtype=bool)
    for result in results:
        correct = (result.claims >= 0) & (ids[result.claims] == truth)
        given_ok = names[result.given] == np.array([v or "-" for v in true_given])
        surname_ok = names[result.surname] == np.array([v or "-" for v in true_surname])
        per_family.append(
            {
                "reidentified": float(correct.mean()),
                "claims": int((result.claims >= 0).sum()),
                "given_decoded": float(given_ok.mean()),
                "surname_decoded": float(surname_ok.mean()),
            }
        )
        correct_any |= correct
        claimed_any |= result.claims >= 0
        given_any |= given_ok
        surname_any |= surname_ok
    seeds: dict[int, int] = {}
    for result in results:  # the attacker's claims, for graph matching's seeds
        for row in np.flatnonzero(result.claims >= 0):
            seeds.setdefault(int(row), int(result.claims[row]))
    best = max(per_family, key=lambda item: item["reidentified"])
    covered = np.isin(truth, ids[:-1])
    return {
        "attack": "comparison",
        "reidentified": float(correct_any.mean()),
        "reidentified_best_family": best["reidentified"],
        "reidentified_of_covered": float(correct_any[covered].mean()) if covered.any() else 0.0,
        "precision": float(correct_any.sum() / max(claimed_any.sum(), 1)),
        "claims": int(claimed_any.sum()),
        "given_decoded": float(given_any.mean()),
        "surname_decoded": float(surname_any.mean()),
        "families": per_family,
        "claims_by_record": seeds,  # victim index -> register index (taken out of reports)
    }
