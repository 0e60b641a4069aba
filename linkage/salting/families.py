"""Every record's salt value in one salt family, from its normalised values.

A family's parts (`linkage.schema.SaltFamily`) each name one or more fields and a
transform: `date_of_birth` (the whole value); `date_of_birth:year`, `:decade`, `:month`,
`:day` and `:month_day` (day and month in either order, so a swapped date still agrees);
`postcode:area` (its first two characters: a region); `surnames:word` (the first word),
`surnames:initial` and `given_names+surnames:key` (sound keys of the first word of each
field, sorted, so names written in each other's column still agree). A record without a
value a part needs has no salt in the family and is not encoded in it.
"""

from collections.abc import Callable, Sequence

from linkage.salting.namekey import name_initial, name_key
from linkage.schema import LinkageSchema, SaltFamily, split_salt_part

SEPARATOR = "\x1f"  # never in a normalised value


def _first_word(value: str) -> str:
    return value.split(" ", 1)[0]


def _month_day(value: str) -> str:
    return "-".join(sorted((value[5:7], value[8:10])))


_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "": lambda value: value,
    "year": lambda value: value[:4],
    "decade": lambda value: value[:3],
    "month": lambda value: value[5:7],
    "day": lambda value: value[8:10],
    "month_day": _month_day,
    "word": _first_word,
    "key": lambda value: name_key(_first_word(value)),
    "initial": lambda value: name_initial(_first_word(value)),
    "area": lambda value: value[:2],
}


def salt_part(values: Sequence[str | None], transform: str) -> str | None:
    """One part of a salt from the values of its fields (sorted when several), or None."""
    pieces = [_TRANSFORMS[transform](value) if value else "" for value in values]
    if not all(pieces):
        return None
    return "+".join(sorted(pieces)) if len(pieces) > 1 else pieces[0]


def _part_column(
    fields: Sequence[Sequence[str | None]], transform: str, rows: int
) -> list[str | None]:
    # Each distinct value (or combination of values) is transformed once.
    if len(fields) == 1:
        column = fields[0]
        single = {value: salt_part((value,), transform) for value in set(column)}
        return [single[value] for value in column]
    cache: dict[tuple[str | None, ...], str | None] = {}
    out: list[str | None] = []
    for values in zip(*fields, strict=True) if fields else [()] * rows:
        found = cache.get(values, _UNSEEN)
        if found is _UNSEEN:
            found = cache[values] = salt_part(values, transform)
        out.append(found)  # type: ignore[arg-type]
    return out


_UNSEEN = object()
PartColumns = dict[str, list[str | None]]


def family_salts(
    schema: LinkageSchema,
    family: SaltFamily,
    columns: Sequence[Sequence[str | None]],
    parts: PartColumns | None = None,
) -> list[str | None]:
    """Each record's salt in `family` (None: not in the family), from normalised columns.

    Args:
        schema: The schema the columns follow (one column per field, in schema order).
        family: One of the schema's salt families.
        columns: The normalised values, None where missing.
        parts: Part columns already computed for another family of the same columns
            (part -> values); filled with this family's. Families share most parts.
    """
    names = schema.field_names
    rows = len(columns[0]) if columns else 0
    known = {} if parts is None else parts
    for part in family.parts:
        if part not in known:
            fields, transform = split_salt_part(part)
            known[part] = _part_column(
                [columns[names.index(field)] for field in fields], transform, rows
            )
    prefix = family.name + SEPARATOR
    if len(family.parts) == 1:
        return [None if value is None else prefix + value for value in known[family.parts[0]]]
    joined = zip(*(known[part] for part in family.parts), strict=True)
    return [None if None in pieces else prefix + SEPARATOR.join(pieces) for pieces in joined]
