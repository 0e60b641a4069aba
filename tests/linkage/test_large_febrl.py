"""Large FEBRL sides made of recombined persons: new people, true pairs kept."""

from benchmarks.febrl import FEBRL_COLUMNS, _febrl4_rows, _recombined


def test_recombined_copies_are_new_people_whose_true_pairs_share_their_donors() -> None:
    rows = _febrl4_rows()
    made = {row[0]: row[1:] for row in _recombined(rows, 3 * len(rows))}
    given, surname, born = (
        FEBRL_COLUMNS.index(n) for n in ("given_name", "surname", "date_of_birth")
    )

    # Copy 0 is FEBRL4 itself.
    assert all(made[f"{rid}-c0"] == values for rid, *values in rows)
    names = {(v[given], v[surname]) for rid, v in made.items() if rid.endswith("-org-c0")}
    for copy in (1, 2):
        org = {rid: v for rid, v in made.items() if rid.endswith(f"-org-c{copy}")}
        # Mostly new name pairs; names themselves come from FEBRL's own.
        fresh = sum((v[given], v[surname]) not in names for v in org.values())
        assert fresh > 0.9 * len(org)
        assert {v[given] for v in org.values()} <= {v[given] for v in made.values()}
        # A true pair (org and dup-0 of one person and copy) mostly agrees field by field.
        agree = [
            sum(a == b for a, b in zip(v, made[rid.replace("-org", "-dup-0")], strict=True))
            for rid, v in org.items()
        ]
        assert sum(agree) / len(agree) > 0.7 * len(FEBRL_COLUMNS)
        # Identity numbers stay one per person and copy.
        numbers = [v[FEBRL_COLUMNS.index("soc_sec_id")] for v in org.values()]
        assert len(set(numbers)) > 0.99 * len(numbers)
    # A home is not shared by the copies that took one donor's address.
    home = [FEBRL_COLUMNS.index(n) for n in ("street_number", "address_1", "postcode")]
    homes = [tuple(v[i] for i in home) for rid, v in made.items() if "-org-" in rid]
    assert len(set(homes)) > 0.9 * len(homes)
    # A person's copies are different people: another date of birth too.
    assert made["rec-1070-org-c1"][born] != made["rec-1070-org-c2"][born]
