"""Generator settings of increasing difficulty: error classes real registrations have.

What: a `Difficulty` scales every agency's own error rates and adds error classes the
agencies' styles alone do not make (or make rarely): whole records with given names and
surnames in each other's columns, name words merged or split, a surname word slipped into
the given-names column, compound surnames cut to their first part, phone numbers written
so that strict validation fails, missing dates of birth that come with distorted names,
and more namesakes and relatives. Three settings ship:

- ``default``: the agencies' styles as they are (the data every earlier figure used);
- ``fieldlab``: the rates an independent check found in a four-agency scenario made by
  another generator (swapped columns from foreign documents, a fifth of one agency's phone
  numbers failing validation, merged and split names, namesakes, missing dates);
- ``hard``: everything above at about twice those rates.

Why: quality must hold on data the generator never made; a harder generator than the
world is the only honest way to test that without the world's data. The matcher is never
told the setting: one default serves all.
"""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Difficulty:
    """How much harder than the agencies' styles the generated records are."""

    name: str
    error_scale: float = 1.0  # multiplies each agency's typo, sound-alike, date... rates
    missing_dob: float = 0.0  # least share of each agency's records without a birth date
    swap_columns: float = 0.0  # added to every agency's whole-record name swap rate
    merge_given: float = 0.0  # two given names written as one word
    split_name: float = 0.0  # a space slipped into one name word
    surname_in_given: float = 0.0  # the first surname word written in the given names too
    compound_cut: float = 0.0  # a compound surname cut to its first part (all agencies)
    loose_phone: float = 0.0  # the phone written so that strict validation fails
    dob_gone_distorted: float = 0.0  # share of records missing their date that also get
    # one more name distortion (a missing date often comes with a hurried registration)
    relative_share: float = 0.15  # persons generated as a relative of an earlier one
    namesake_share: float = 0.05  # persons carrying an earlier person's full name
    # Agencies with more of a class than the others (e.g. police registrations taken from
    # foreign documents): agency -> {field name of this class -> rate}, overriding the above.
    agency_overrides: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)

    def rate(self, agency: str, name: str) -> float:
        """The rate of one error class for one agency."""
        override = self.agency_overrides.get(agency, {})
        return float(override.get(name, getattr(self, name)))


DEFAULT = Difficulty(name="default")
FIELDLAB = Difficulty(
    name="fieldlab",
    error_scale=1.25,
    missing_dob=0.05,
    swap_columns=0.01,
    merge_given=0.02,
    split_name=0.01,
    surname_in_given=0.01,
    compound_cut=0.03,
    loose_phone=0.03,
    dob_gone_distorted=0.5,
    namesake_share=0.08,
    agency_overrides={
        "politie": {"swap_columns": 0.06, "loose_phone": 0.2},
        "kmar": {"swap_columns": 0.03},
    },
)
HARD = Difficulty(
    name="hard",
    error_scale=2.0,
    missing_dob=0.08,
    swap_columns=0.03,
    merge_given=0.05,
    split_name=0.03,
    surname_in_given=0.03,
    compound_cut=0.06,
    loose_phone=0.08,
    dob_gone_distorted=0.7,
    relative_share=0.2,
    namesake_share=0.1,
    agency_overrides={
        "politie": {"swap_columns": 0.1, "loose_phone": 0.3},
        "kmar": {"swap_columns": 0.06},
    },
)
SETTINGS: Mapping[str, Difficulty] = {d.name: d for d in (DEFAULT, FIELDLAB, HARD)}


def difficulty(name: str) -> Difficulty:
    """The shipped setting called `name` (default, fieldlab, hard)."""
    try:
        return SETTINGS[name]
    except KeyError:
        choices = ", ".join(SETTINGS)
        raise ValueError(f"unknown difficulty {name!r}; choose from {choices}") from None
