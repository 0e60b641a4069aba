"""A data officer's pages in a real browser: own batches, the upload form, own hits, approvals.

What a data officer must not see is checked on the same pages: another agency's batch is
"not found" exactly as the API answers it (and as a batch that never existed), and the
other roles are refused the officer's pages. The upload form's CSRF token is checked
before a byte of the file is taken.
"""

import re
import uuid
from typing import Any

import httpx

from tests.contract.live_hub import enrol
from tests.web.conftest import API_TIMEOUT, choose_language, serious_violations, sign_in
from tests.web.seed import Seeded


def _api(seeded: Seeded, who: str, path: str, **params: Any) -> Any:
    answer = httpx.get(
        f"{seeded.url}/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {seeded.token(who)}"},
        timeout=API_TIMEOUT,
    )
    answer.raise_for_status()
    return answer.json()


def _project(seeded: Seeded, name: str, who: str = "kmar") -> str:
    projects = _api(seeded, who, "/projects")["items"]
    return str(next(p["id"] for p in projects if p["name"] == name))


def _base(seeded: Seeded, name: str = "Carousel", who: str = "kmar") -> str:
    return f"/app/officer/projects/{_project(seeded, name, who)}"


def test_an_officer_sees_the_own_batches_and_what_the_hub_recorded(
    page: Any, seeded: Seeded
) -> None:
    carousel = _project(seeded, "Carousel")
    stored = _api(seeded, "kmar", f"/projects/{carousel}/uploads")["items"]
    sign_in(page, seeded, "kmar")
    page.get_by_role("link", name="Your agency's data in Carousel").click()

    assert page.get_by_role("heading", name="Batches of kmar in Carousel").is_visible()
    table = page.get_by_role("table", name="Batches stored at the hub")
    rows = table.locator("tbody tr")
    assert rows.count() == len(stored) == 2
    records = [int(t.replace("\u202f", "")) for t in rows.locator("td.number").all_inner_texts()]
    assert sorted(records[0::2]) == sorted(u["record_count"] for u in stored)
    assert table.get_by_text("current").count() == 2  # both batches are of the current epoch
    assert page.get_by_text("fieldlink encode records.csv --secret project.key --agency kmar")
    assert page.get_by_label("Batch file (.arrow)").is_visible()
    assert serious_violations(page) == []

    rows.first.get_by_role("link").click()
    first = stored[0]
    assert page.get_by_role("heading", name=f"Batch {first['id'][:8]}").is_visible()
    assert page.get_by_text(first["digest"]).is_visible()
    assert page.get_by_text("Missing and invalid values per field are counted").is_visible()
    assert serious_violations(page) == []


def test_an_officer_uploads_a_batch_file_and_sees_it_listed(page: Any, seeded: Seeded) -> None:
    pilot = _project(seeded, "Pilot")
    before = _api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"]
    sign_in(page, seeded, "kmar")
    page.goto(_base(seeded, "Pilot"))
    page.get_by_label("Batch file (.arrow)").set_input_files(seeded.batches / "kmar-1.arrow")
    page.get_by_role("button", name="Upload the batch").click()

    page.wait_for_url(re.compile(r"/batches/[0-9a-f-]{36}\?stored=new$"))
    assert page.get_by_role("status").get_by_text("The batch was checked and stored.").is_visible()
    after = _api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"]
    added = [u for u in after if u["id"] not in {b["id"] for b in before}]
    assert len(added) == 1 and added[0]["id"] in page.url
    assert page.get_by_text(added[0]["digest"]).is_visible()
    assert serious_violations(page) == []

    page.get_by_role("link", name="Back to your agency's batches").click()
    listed = page.get_by_role("table", name="Batches stored at the hub")
    assert listed.get_by_role("link", name=f"Batch {added[0]['id'][:8]}").is_visible()

    # The same file again is recognised, not stored twice.
    page.get_by_label("Batch file (.arrow)").set_input_files(seeded.batches / "kmar-1.arrow")
    page.get_by_role("button", name="Upload the batch").click()
    page.wait_for_url(re.compile(r"\?stored=again$"))
    assert len(_api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"]) == len(after)


def test_a_file_that_is_no_batch_is_refused_naming_the_check_never_a_value(
    page: Any, seeded: Seeded
) -> None:
    pilot = _project(seeded, "Pilot")
    before = _api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"]
    records = seeded.batches / "kmar-2.csv"  # the records themselves, chosen by mistake
    first_record = records.read_text(encoding="utf-8").splitlines()[1].split(",")
    sign_in(page, seeded, "kmar")
    page.goto(_base(seeded, "Pilot"))
    page.get_by_label("Batch file (.arrow)").set_input_files(records)
    with page.expect_response(re.compile(r"/batches$")) as answer:
        page.get_by_role("button", name="Upload the batch").click()

    assert answer.value.status == 422
    alert = page.get_by_role("alert")
    assert alert.get_by_text("The batch was not stored").is_visible()
    assert alert.get_by_text("This is not a batch file fieldlink encode wrote").is_visible()
    shown = page.locator("main").inner_text()
    assert not [value for value in first_record if len(value) > 3 and value in shown]
    assert _api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"] == before
    assert serious_violations(page) == []

    # Another agency's batch: refused by the agency label, named, nothing stored.
    page.get_by_label("Batch file (.arrow)").set_input_files(seeded.batches / "politie-2.arrow")
    page.get_by_role("button", name="Upload the batch").click()
    assert page.get_by_role("alert").get_by_text("The batch belongs to another agency").is_visible()
    assert _api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"] == before


def test_the_upload_form_refuses_a_forged_csrf_token_before_taking_the_file(
    page: Any, seeded: Seeded
) -> None:
    pilot = _project(seeded, "Pilot")
    before = _api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"]
    sign_in(page, seeded, "kmar")
    page.goto(_base(seeded, "Pilot"))
    form = page.locator("form[enctype='multipart/form-data']")
    form.locator("input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    page.get_by_label("Batch file (.arrow)").set_input_files(seeded.batches / "kmar-2.arrow")
    with page.expect_response(re.compile(r"/batches$")) as answer:
        page.get_by_role("button", name="Upload the batch").click()

    assert answer.value.status == 403
    assert page.get_by_role("heading", name="This form was refused").is_visible()
    # A form posted from elsewhere, the file first and the token after it, is refused too.
    batch = (seeded.batches / "kmar-2.arrow").read_bytes()
    token = page.context.request.get(_base(seeded, "Pilot")).text()
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', token)
    assert found is not None
    reordered = page.request.post(
        f"{_base(seeded, 'Pilot')}/batches",
        multipart={
            "batch": {
                "name": "kmar-2.arrow",
                "mimeType": "application/octet-stream",
                "buffer": batch,
            },
            "csrf_token": found.group(1),
        },
        max_redirects=0,
    )
    assert reordered.status == 403
    assert _api(seeded, "kmar", f"/projects/{pilot}/uploads")["items"] == before
    # The same token in the page's order is taken: the refusal above was the order's.
    in_order = page.request.post(
        f"{_base(seeded, 'Pilot')}/batches",
        multipart={
            "csrf_token": found.group(1),
            "batch": {
                "name": "kmar-1.arrow",
                "mimeType": "application/octet-stream",
                "buffer": (seeded.batches / "kmar-1.arrow").read_bytes(),
            },
        },
        max_redirects=0,
    )
    assert in_order.status == 303


def test_another_agencys_batch_is_not_found_exactly_as_the_api_answers(
    page: Any, seeded: Seeded
) -> None:
    carousel = _project(seeded, "Carousel")
    politie_batch = _api(seeded, "politie", f"/projects/{carousel}/uploads")["items"][0]["id"]
    api = httpx.get(
        f"{seeded.url}/v1/projects/{carousel}/uploads/{politie_batch}",
        headers={"Authorization": f"Bearer {seeded.token('kmar')}"},
    )
    assert api.status_code == 404
    sign_in(page, seeded, "kmar")

    theirs = page.goto(f"/app/officer/projects/{carousel}/batches/{politie_batch}")
    assert theirs.status == 404
    shown_for_theirs = page.locator("main").inner_text()
    absent = page.goto(f"/app/officer/projects/{carousel}/batches/{uuid.uuid4()}")
    assert absent.status == 404
    assert page.locator("main").inner_text() == shown_for_theirs  # no existence leak
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert politie_batch[:8] not in shown_for_theirs
    assert serious_violations(page) == []


def test_other_roles_are_refused_the_officers_pages(page: Any, seeded: Seeded) -> None:
    base = _base(seeded)
    for who in ("analyst", "auditor"):
        page.context.clear_cookies()
        sign_in(page, seeded, who)
        for path in (base, f"{base}/hits", f"{base}/approvals"):
            answer = page.goto(path)
            assert answer.status == 403, (who, path)
        assert page.get_by_role("heading", name="Your role may not open this page").is_visible()


def test_own_hits_show_the_own_references_and_only_the_names_of_others(
    page: Any, seeded: Seeded
) -> None:
    carousel = _project(seeded, "Carousel")
    runs = _api(seeded, "kmar", f"/projects/{carousel}/runs")["items"]
    latest = next(r for r in runs if r["status"] == "succeeded")
    hits = _api(seeded, "kmar", f"/projects/{carousel}/runs/{latest['id']}/hits", limit=50)
    sign_in(page, seeded, "kmar")
    page.goto(f"{_base(seeded)}/hits")

    assert page.get_by_role("status").inner_text().startswith(f"{latest['hit_count']} own hits")
    table = page.get_by_role("table", name="Hits holding your agency's records")
    rows = table.locator("tbody tr")
    assert rows.count() == len(hits["items"])
    shown = set(table.locator("code").all_inner_texts())
    assert shown == {m["reference"] for h in hits["items"] for m in h["members"]}
    assert all(m["agency"] == "kmar" for h in hits["items"] for m in h["members"])
    assert table.get_by_text("politie").count() >= 1  # other agencies by name only
    assert serious_violations(page) == []


def test_pending_confirmations_and_approvals_have_buttons_that_do_it(
    page: Any, seeded: Seeded
) -> None:
    pilot = _project(seeded, "Pilot", "politie")
    enrol(seeded.hub, "politie", "Pilot analyst", "analyst", "pilot_analyst", "Pilot")
    sign_in(page, seeded, "politie")
    page.goto(f"/app/officer/projects/{pilot}/approvals")
    page.get_by_role("button", name="Confirm Pilot analyst").click()
    page.wait_for_url(re.compile(r"/approvals#team$"))
    assert page.get_by_text("Nobody waits for confirmation.").is_visible()
    team = _api(seeded, "politie", f"/projects/{pilot}/members")["items"]
    assert {m["name"]: m["status"] for m in team}["Pilot analyst"] == "confirmed"
    assert serious_violations(page) == []

    carousel = _project(seeded, "Carousel")
    seeded.as_(
        "admin", "admin", "set-project", "--project", "Carousel", "--disclosure-approval", "on"
    )
    try:
        page.context.clear_cookies()
        sign_in(page, seeded, "kmar")
        page.goto(f"{_base(seeded)}/approvals")
        waiting = page.get_by_role("table", name="Hits waiting for your approval")
        before = waiting.locator("tbody tr").count()
        assert before >= 1
        assert serious_violations(page) == []
        number = waiting.locator("tbody th").first.inner_text().split()[-1]
        page.get_by_role("button", name=f"Approve hit {number}", exact=True).click()
        page.wait_for_url(re.compile(rf"#approved-{number}$"))
        assert page.get_by_role("button", name=f"Approve hit {number}", exact=True).count() == 0
        run = re.search(r"run=([0-9a-f-]{36})", page.url)
        assert run is not None
        approvals = _api(
            seeded, "kmar", f"/projects/{carousel}/runs/{run.group(1)}/approvals", limit=1000
        )["items"]
        assert next(a for a in approvals if a["hit_number"] == int(number))["approved"] is True
    finally:
        seeded.as_(
            "admin", "admin", "set-project", "--project", "Carousel", "--disclosure-approval", "off"
        )


def test_the_batches_page_in_dutch(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "kmar")
    page.goto(_base(seeded))
    choose_language(page, "Nederlands")

    assert page.get_by_role("heading", name="Batches van kmar in Carousel").is_visible()
    assert page.get_by_label("Batchbestand (.arrow)").is_visible()
    assert page.get_by_role("button", name="Batch uploaden").is_visible()
    assert serious_violations(page) == []


def test_the_upload_form_is_reached_and_used_by_keyboard_with_visible_focus(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "kmar")
    page.goto(_base(seeded, "Pilot"))
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " const s = getComputedStyle(e);"
            " return [e.id || e.textContent.trim(), s.outlineStyle, s.outlineWidth]; }"
        )
        reached.append(focused[0])
        assert focused[1] != "none" and focused[2] != "0px", focused  # focus is visible
        if focused[0] == "Upload the batch":
            break
    assert "field-batch" in reached and reached[-1] == "Upload the batch"
    assert reached.index("field-batch") < len(reached) - 1  # the file comes before the button


def test_a_form_without_a_file_or_not_multipart_is_refused_with_a_page(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "kmar")
    page.goto(_base(seeded, "Pilot"))
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    target = f"{_base(seeded, 'Pilot')}/batches"

    # What a browser sends when no file was chosen: the file part with an empty name.
    body = (
        f'--B\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        '--B\r\nContent-Disposition: form-data; name="batch"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n"
    )
    empty = page.request.post(
        target,
        data=body.encode(),
        headers={"Content-Type": "multipart/form-data; boundary=B"},
        max_redirects=0,
    )
    assert empty.status == 422
    assert "The form or the file cannot be used" in empty.text()
    assert "no file was chosen" in empty.text()
    plain = page.request.post(target, form={"csrf_token": token}, max_redirects=0)
    assert plain.status == 422  # a urlencoded form carries no file
