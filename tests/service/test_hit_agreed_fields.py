import csv
import io
import json
import uuid

from linkage.hits import Group, Link, Member
from service.hit_views import csv_export, hit_views, json_export
from service.store.hits import hit_rows, row_pages

FIU, POLITIE = str(uuid.uuid4()), str(uuid.uuid4())
NAMES = {FIU: "FIU", POLITIE: "Politie"}


def groups(agreed: tuple[str, ...]) -> list[Group]:
    members = (Member(FIU, "fiu-1"), Member(POLITIE, "pol-1"))
    return [Group(members=members, links=(Link(0, 1, 0.998, agreed),), agreed_fields=agreed)]


def test_the_agreed_fields_of_a_field_scored_hit_are_stored_and_shown() -> None:
    rows = hit_rows(uuid.uuid4(), groups(("first_given", "date_of_birth")))
    pages = list(row_pages(rows, NAMES))

    view = hit_views(*pages[0])[0]
    exported = json.loads(b"".join(json_export(pages, threshold=0.5, min_agencies=2)))
    table = list(csv.DictReader(io.StringIO(b"".join(csv_export(pages)).decode())))

    assert rows.hits[0]["agreed_fields"] == ["first_given", "date_of_birth"]
    assert view["agreed_fields"] == ["first_given", "date_of_birth"]
    assert exported["groups"][0]["agreed_fields"] == ["first_given", "date_of_birth"]
    assert {row["agreed_fields"] for row in table} == {"first_given;date_of_birth"}


def test_a_hit_scored_on_the_record_level_filter_has_no_agreed_fields() -> None:
    rows = hit_rows(uuid.uuid4(), groups(()))
    pages = list(row_pages(rows, NAMES))

    table = list(csv.DictReader(io.StringIO(b"".join(csv_export(pages)).decode())))

    assert rows.hits[0]["agreed_fields"] is None
    assert hit_views(*pages[0])[0]["agreed_fields"] is None
    assert {row["agreed_fields"] for row in table} == {""}
