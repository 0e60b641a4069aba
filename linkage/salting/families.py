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


_UNSEEN = object()
PartColumns = dict[str, list[str | None]]


def _part_column(column: Sequence[str | None], transform: str) -> list[str | None]:
    # `salt_part` of one value: None without a value or when its transform leaves nothing.
    # Each distinct value is transformed once.
    apply = _TRANSFORMS[transform]
    single = {value: (apply(value) or None) if value else None for value in dict.fromkeys(column)}
    return list(map(single.__getitem__, column))


def _combined_column(pieces: Sequence[Sequence[str | None]]) -> list[str | None]:
    # `salt_part` of several fields from each field's own part column: None when any field
    # has none, else the pieces sorted and joined. Each distinct combination is joined once.
    cache: dict[tuple[str | None, ...], str | None] = {}
    out: list[str | None] = []
    for values in zip(*pieces, strict=True):
        found = cache.get(values, _UNSEEN)
        if found is _UNSEEN:
            found = cache[values] = None if None in values else "+".join(sorted(values))
        out.append(found)  # type: ignore[arg-type]
    return out


def _fill_part(
    part: str, names: Sequence[str], columns: Sequence[Sequence[str | None]], known: PartColumns
) -> list[str | None]:
    # A part of several fields is built from the one-field parts of its fields (kept in
    # `known` too), so a sound key is computed once per distinct value for all families.
    found = known.get(part)
    if found is None:
        fields, transform = split_salt_part(part)
        if len(fields) == 1:
            found = _part_column(columns[names.index(fields[0])], transform)
        else:
            singles = [f"{field}:{transform}" if transform else field for field in fields]
            found = _combined_column([_fill_part(one, names, columns, known) for one in singles])
        known[part] = found
    return found


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
    known = {} if parts is None else parts
    for part in family.parts:
        _fill_part(part, names, columns, known)
    return _salts(family.name + SEPARATOR, [known[part] for part in family.parts])


def _salts(prefix: str, parts: Sequence[Sequence[str | None]]) -> list[str | None]:
    # prefix + the parts joined by SEPARATOR, None where a part is. The usual one to three
    # parts are written out: a quarter faster than a join of every record's tuple.
    if len(parts) == 1:
        return [None if value is None else prefix + value for value in parts[0]]
    if len(parts) == 2:
        return [
            None if a is None or b is None else f"{prefix}{a}{SEPARATOR}{b}"
            for a, b in zip(*parts, strict=True)
        ]
    if len(parts) == 3:
        return [
            None
            if a is None or b is None or c is None
            else f"{prefix}{a}{SEPARATOR}{b}{SEPARATOR}{c}"
            for a, b, c in zip(*parts, strict=True)
        ]
    joined = zip(*parts, strict=True)
    return [None if None in pieces else prefix + SEPARATOR.join(pieces) for pieces in joined]
