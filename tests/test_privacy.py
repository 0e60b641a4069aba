"""Privacy claims as measured figures: the benchmark's attacks, small, on every run.

The full figures (3,000 records, three seeds, every configuration and coverage, and
inside a salt group of national size) come from `benchmarks.privacy.run`; these runs keep
the harness honest (the key holder still decodes, the unhardened schema still falls to
graph matching) and the default hardened (the same attacks find nothing).
"""

import numpy as np
import pytest

from benchmarks.privacy import comparison_attack, graph_matching, keyholder
from benchmarks.privacy.population import (
    encode,
    encoded_file,
    make_population,
    register,
    truth_indices,
)
from keys import LinkageSecret
from linkage.schema import load_schema

RECORDS = 600


@pytest.fixture(scope="module")
def scenario() -> dict[str, object]:
    population = make_population(3 * RECORDS, seed=0)
    victim = encoded_file(population, RECORDS, seed=0)
    held = register(population, victim, coverage=1.0, seed=0)
    return {"population": population, "victim": victim, "held": held}


def _gma(schema_name: str, scenario: dict[str, object], seeds: int) -> dict[str, float]:
    schema = load_schema(schema_name)
    victim, held = scenario["victim"], scenario["held"]
    secret = LinkageSecret(project="victims", value=bytes(range(32)))
    own = LinkageSecret(project="attacker", value=bytes(range(1, 33)))
    truth = truth_indices(victim, held)  # type: ignore[arg-type]
    known = np.flatnonzero(truth >= 0)[:seeds]
    encoded = encode(victim, schema, secret)  # type: ignore[arg-type]
    return graph_matching.attack(
        encoded.filters,
        encode(held, schema, own).filters,  # type: ignore[arg-type]
        truth,
        {int(v): int(truth[v]) for v in known} or None,
        families=schema.families,
    )


def test_ten_known_pairs_unravel_the_unhardened_schema(scenario: dict[str, object]) -> None:
    result = _gma("person-classic", scenario, seeds=10)

    assert result["reidentified_beyond_seeds"] > 0.5


def test_ten_known_pairs_reveal_nothing_more_of_the_hardened_default(
    scenario: dict[str, object],
) -> None:
    result = _gma("person", scenario, seeds=10)

    assert result["reidentified_beyond_seeds"] < 0.02


def test_the_comparison_attack_finds_nothing_in_the_hardened_default(
    scenario: dict[str, object],
) -> None:
    schema = load_schema()
    victim, held = scenario["victim"], scenario["held"]
    encoded = encode(victim, schema, LinkageSecret(project="v", value=bytes(32)))  # type: ignore[arg-type]

    result = comparison_attack.attack(encoded.comparisons, encoded.layout, schema, victim, held)  # type: ignore[arg-type]

    assert result["reidentified"] < 0.01


def test_the_key_holder_decodes_first_names_the_harness_works(
    scenario: dict[str, object],
) -> None:
    schema = load_schema("person-classic")
    secret = LinkageSecret(project="v", value=bytes(32))
    victim, held, population = scenario["victim"], scenario["held"], scenario["population"]
    encoded = encode(victim, schema, secret)  # type: ignore[arg-type]

    result = keyholder.attack(
        encoded.filters,
        encoded.comparisons,
        schema,
        secret,
        victim,
        held,
        population,  # type: ignore[arg-type]
    )

    assert result["given_decoded"] >= 0.9
