"""Synthetic, obviously fake records for tests. Real PII never enters the repository."""

import random

GIVEN = [
    "Ana",
    "María José",
    "João",
    "Jan",
    "Sanne",
    "Luis Alberto",
    "Yolanda",
    "Pieter",
    "Camila",
    "Thiago",
    "Daniela",
    "Fleur",
]
SURNAMES = [
    "García Pérez",
    "dos Santos",
    "van der Berg",
    "de Vries",
    "Rodríguez",
    "Peeters",
    "Silva Oliveira",
    "Jansen",
    "Gómez de la Cruz",
    "Bakker",
    "Mendoza",
    "Claes",
]
CITIES = ["Rotterdam", "Den Haag", "Antwerpen", "Breda", "Utrecht", "Brussel"]


def fake_people(count: int, *, seed: int = 0) -> list[dict[str, str]]:
    """Records with the person schema's column names and a record_id."""
    rng = random.Random(seed)
    people = []
    for index in range(count):
        people.append(
            {
                "record_id": f"R{index:06d}",
                "given_names": rng.choice(GIVEN),
                "surnames": rng.choice(SURNAMES),
                "date_of_birth": f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1950, 2005)}",
                "sex": rng.choice("MFV"),
                "nationality": rng.choice(["NL", "colombiana", "BRA", "Belg", "venezolano"]),
                "phone": rng.choice(["", f"06-{rng.randint(10**7, 10**8 - 1)}"]),
                "postcode": f"{rng.randint(1000, 9999)}{rng.choice('ABCDEF')}{rng.choice('KLMN')}",
                "city": rng.choice(CITIES),
            }
        )
    return people


def to_csv(records: list[dict[str, str]], *, delimiter: str = ",") -> str:
    header = list(records[0])
    lines = [delimiter.join(header)]
    lines.extend(delimiter.join(record[name] for name in header) for record in records)
    return "\n".join(lines) + "\n"
