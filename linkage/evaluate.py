"""Quality of a matching run against a known truth: pair precision and recall, pure groups.

Only for data whose truth is known, such as `fieldlink synth` output: hits name records by
pseudonymous reference, each agency's reference map turns those into local record ids,
and the truth file says which person each local record belongs to.
"""

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from linkage.errors import InputError
from linkage.hits import Hits

TRUTH_COLUMNS = ("agency", "record_id", "person_id")

RecordKey = tuple[str, str]  # (agency, local record id)


@dataclass(frozen=True, slots=True)
class Quality:
    """How well hits agree with the truth; ratios are in [0, 1].

    A predicted pair is two members of one group held by different agencies; a true pair is
    two records of one person held by different agencies, over every record in the truth.
    A ratio over nothing (no predicted pairs, no groups, nobody to find) is 1.0.
    """

    pair_precision: float
    pair_recall: float
    pair_f1: float
    group_precision: float  # share of groups whose members are all one person
    persons_found: float  # share of multi-agency persons some group brings together
    min_agencies: int
    groups: int
    pure_groups: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    multi_agency_persons: int  # persons with records in >= min_agencies agencies
    found_persons: int
    truth_records: int
    truth_persons: int
    unresolved_members: int  # hit members without a reference map entry or truth row


def read_truth(path: Path) -> dict[RecordKey, str]:
    """Read a truth file (agency, record_id, person_id): (agency, record id) -> person id.

    Raises:
        InputError: The file cannot be read, lacks a column, or repeats a record.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not set(TRUTH_COLUMNS) <= set(reader.fieldnames or ()):
                raise InputError(f"{path}: needs the columns {', '.join(TRUTH_COLUMNS)}")
            return _truth_rows(path, _with_lines(reader))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path}: cannot be read as a truth file") from err


def _with_lines(reader: "csv.DictReader[str]") -> Iterator[tuple[int, dict[str, str]]]:
    # Each row with the file line it starts on (the header is line 1).
    start = reader.line_num + 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _truth_rows(path: Path, rows: Iterable[tuple[int, Mapping[str, str]]]) -> dict[RecordKey, str]:
    truth: dict[RecordKey, str] = {}
    for line, row in rows:
        key = (row["agency"].strip(), row["record_id"].strip())
        if key in truth:  # the message names the line, never the record id
            raise InputError(f"{path}: line {line} repeats a record of agency {key[0]}")
        truth[key] = row["person_id"].strip()
    return truth


def evaluate(hits: Hits, truth_path: Path, refmaps: Mapping[str, Mapping[str, str]]) -> Quality:
    """Compare hits with the truth.

    Args:
        hits: The matching run's groups.
        truth_path: CSV file with columns agency, record_id, person_id.
        refmaps: Agency -> (reference -> local record id), as `linkage.agency.read_refmap`
            reads them from each agency's `NAME.refs.csv`.

    Returns:
        Pair precision, recall and F1, group precision, share of multi-agency persons
        found, and the counts behind them.

    Raises:
        InputError: The truth file is unusable, or an agency in the hits has no
            reference map.
    """
    truth = read_truth(truth_path)
    missing = sorted({m.agency for g in hits.groups for m in g.members} - set(refmaps))
    if missing:
        raise InputError(f"no reference map for agency {', '.join(missing)}")
    groups: list[list[RecordKey]] = []
    unresolved = 0
    for group in hits.groups:
        keys = [(m.agency, refmaps[m.agency].get(m.reference, "")) for m in group.members]
        groups.append([key for key in keys if key in truth])
        unresolved += len(keys) - len(groups[-1])
    return _quality(groups, truth, hits.min_agencies, unresolved)


def _quality(
    groups: Sequence[Sequence[RecordKey]],
    truth: Mapping[RecordKey, str],
    min_agencies: int,
    unresolved: int,
) -> Quality:
    predicted = {pair for group in groups for pair in _cross_pairs(group)}
    correct = sum(truth[left] == truth[right] for left, right in predicted)
    true_pairs = _true_pair_count(truth)
    pure = sum(len({truth[key] for key in group}) == 1 for group in groups)
    wanted = _multi_agency_persons(truth, min_agencies)
    found = _found_persons(groups, truth, min_agencies) & wanted
    precision = _ratio(correct, len(predicted))
    recall = _ratio(correct, true_pairs)
    return Quality(
        pair_precision=precision,
        pair_recall=recall,
        pair_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        group_precision=_ratio(pure, len(groups)),
        persons_found=_ratio(len(found), len(wanted)),
        min_agencies=min_agencies,
        groups=len(groups),
        pure_groups=pure,
        predicted_pairs=len(predicted),
        true_pairs=true_pairs,
        correct_pairs=correct,
        multi_agency_persons=len(wanted),
        found_persons=len(found),
        truth_records=len(truth),
        truth_persons=len(set(truth.values())),
        unresolved_members=unresolved,
    )


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _cross_pairs(group: Sequence[RecordKey]) -> Iterable[tuple[RecordKey, RecordKey]]:
    for left, right in combinations(sorted(set(group)), 2):
        if left[0] != right[0]:
            yield left, right


def _true_pair_count(truth: Mapping[RecordKey, str]) -> int:
    # Per person: all pairs of their records, less the pairs within one agency.
    per_agency: Counter[tuple[str, str]] = Counter(
        (person, agency) for (agency, _), person in truth.items()
    )
    per_person: Counter[str] = Counter()
    within = 0
    for (person, _), count in per_agency.items():
        per_person[person] += count
        within += count * (count - 1) // 2
    return sum(count * (count - 1) // 2 for count in per_person.values()) - within


def _agencies_by_person(
    keys: Iterable[RecordKey], truth: Mapping[RecordKey, str]
) -> dict[str, set[str]]:
    agencies: defaultdict[str, set[str]] = defaultdict(set)
    for key in keys:
        agencies[truth[key]].add(key[0])
    return agencies


def _multi_agency_persons(truth: Mapping[RecordKey, str], min_agencies: int) -> set[str]:
    spread = _agencies_by_person(truth, truth)
    return {person for person, agencies in spread.items() if len(agencies) >= min_agencies}


def _found_persons(
    groups: Sequence[Sequence[RecordKey]], truth: Mapping[RecordKey, str], min_agencies: int
) -> set[str]:
    found: set[str] = set()
    for group in groups:
        spread = _agencies_by_person(group, truth)
        found |= {person for person, agencies in spread.items() if len(agencies) >= min_agencies}
    return found


def format_quality(quality: Quality) -> str:
    """The quality figures as a small text table."""
    rows = [
        ("pair precision", quality.pair_precision,
         f"{quality.correct_pairs} of {quality.predicted_pairs} predicted cross-agency pairs"),
        ("pair recall", quality.pair_recall,
         f"{quality.correct_pairs} of {quality.true_pairs} true cross-agency pairs"),
        ("pair F1", quality.pair_f1, ""),
        ("hit precision", quality.group_precision,
         f"{quality.pure_groups} of {quality.groups} hits are one person"),
        (f"persons found (>= {quality.min_agencies} agencies)", quality.persons_found,
         f"{quality.found_persons} of {quality.multi_agency_persons} persons"),
    ]  # fmt: skip
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{name:<{width}}  {value:6.3f}  {detail}".rstrip() for name, value, detail in rows]
    lines.append(
        f"truth: {quality.truth_records} records of {quality.truth_persons} persons; "
        f"unresolved hit members: {quality.unresolved_members}"
    )
    return "\n".join(lines)
