"""Every endpoint x every caller: who is let in, and what the others are told.

Callers are anonymous, the administrator, and each data role and the key custodian twice:
"own" (a member of the project, or for a data officer or key custodian one of a
participating agency) and "foreign" (neither). Denials: 401 without a token, 403 for a
wrong role, 404 for a project the caller may not see, which is the same answer an absent
project gets. Administrators mint no tokens: there is no route that would let them.
"""

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from keys import KeyKind, WrappedKey, generate_keypair
from service import store
from service.auth import Role, hash_enrolment_code, new_enrolment_code
from service.config import Settings
from service.main import create_app
from service.models import Agency, Principal, Project, SuspectStatus, utcnow
from service.store import enrolment, members, retention
from service.store.suspects import add_suspect
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import (
    KEY_CHECK,
    bearer,
    make_agency,
    make_principal,
    make_project,
    token_of,
)
from tests.service.matching_data import make_finished_run, store_upload

CALLERS = [
    "anonymous",
    "administrator",
    "data_officer:own",
    "data_officer:foreign",
    "analyst:own",
    "analyst:foreign",
    "auditor:own",
    "auditor:foreign",
    "key_custodian:own",
    "key_custodian:foreign",
]
PUBLIC, AUTHENTICATED, ADMIN, VISIBLE = "public", "authenticated", "admin", "visible"
# OFFICER: data officers of a participating agency only. DATA: every role but administrator.
OFFICER, DATA = "officer", "data"
# ANALYST: analysts on the team only. HITS: those analysts and officers of a participating agency.
ANALYST, HITS = "analyst", "hits"
# AUDITOR: every auditor, on the team or not: the audit log is the whole hub's.
AUDITOR = "auditor"
# TEAM_KEY: analysts on the team and administrators. CUSTODIAN: key custodians of a
# participating agency (who deposit wrapped keys); administrators and data officers not.
TEAM_KEY, CUSTODIAN = "team_key", "custodian"
# CONFIRM: the second person of dual control, a data officer of a participating agency.
# RECEIPT: purge receipts, for officers of a participating agency, auditors, administrators.
# SUSPECT_READ: analysts and auditors on the team.
CONFIRM, RECEIPT, SUSPECT_READ = "confirm", "receipt", "suspect_read"
# DIRECTORY: administrators, and every auditor (to name who is who in the log).
DIRECTORY = "directory"
# ACTIVATORS: who may be a second person at all (administrators, data officers, key
# custodians). ACTIVATE: a data officer or key custodian of the enrolled principal's own
# agency; an administrator only where that agency has nobody active (not so here).
ACTIVATORS, ACTIVATE = "activators", "activate"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    policy: str
    success: int = 200
    body: str | None = None  # name of a body builder below
    content: str | None = None  # name of a batch file below, sent as the raw body
    ids: str | None = None  # name of a set of path ids in place of the world's (World.scoped)


ENDPOINTS = [
    Endpoint("GET", "/v1/health", PUBLIC),
    Endpoint("GET", "/v1/ready", PUBLIC),
    Endpoint("POST", "/v1/agencies", ADMIN, 201, "agency"),
    Endpoint("GET", "/v1/agencies", DIRECTORY),
    Endpoint("POST", "/v1/principals", ADMIN, 201, "principal"),
    Endpoint("GET", "/v1/principals", DIRECTORY),
    Endpoint("POST", "/v1/principals/me/tokens", AUTHENTICATED, 201),
    Endpoint("POST", "/v1/principals/{principal_id}/enrolment", ADMIN, 201),
    Endpoint("POST", "/v1/principals/{principal_id}/disable", ADMIN),
    Endpoint("GET", "/v1/principals/pending", ACTIVATORS),
    Endpoint(
        "POST", "/v1/principals/{principal_id}/activate", ACTIVATE, 200, "activate", ids="enrolled"
    ),
    Endpoint("POST", "/v1/principals/{principal_id}/tokens/{token_id}/revoke", ADMIN),
    Endpoint("POST", "/v1/enrolment", PUBLIC, 201, "enrolment"),
    Endpoint("POST", "/v1/projects", ADMIN, 201, "project"),
    Endpoint("GET", "/v1/projects", AUTHENTICATED),
    Endpoint("GET", "/v1/projects/{project_id}", VISIBLE),
    Endpoint("PATCH", "/v1/projects/{project_id}", ADMIN, 200, "settings"),
    Endpoint("POST", "/v1/projects/{project_id}/members", ADMIN, 202, "member"),
    Endpoint("GET", "/v1/projects/{project_id}/members", VISIBLE),
    Endpoint(
        "POST", "/v1/projects/{project_id}/members/{principal_id}/confirm", CONFIRM, ids="pending"
    ),
    Endpoint(
        "DELETE", "/v1/projects/{project_id}/members/{principal_id}", ADMIN, 204, ids="member"
    ),
    Endpoint("POST", "/v1/projects/{project_id}/purge", ADMIN, ids="expired"),
    Endpoint("GET", "/v1/projects/{project_id}/purge-receipt", RECEIPT, ids="purged"),
    # uploads
    Endpoint("POST", "/v1/projects/{project_id}/uploads", OFFICER, 201, content="new"),
    Endpoint("GET", "/v1/projects/{project_id}/uploads", DATA),
    Endpoint("GET", "/v1/projects/{project_id}/uploads/{upload_id}", DATA),
    Endpoint("PUT", "/v1/projects/{project_id}/uploads/{upload_id}", OFFICER, content="other"),
    Endpoint("DELETE", "/v1/projects/{project_id}/uploads/{upload_id}", OFFICER, 204),
    # runs, hits and the suspect list
    Endpoint("POST", "/v1/projects/{project_id}/runs", ANALYST, 202, "run"),
    Endpoint("GET", "/v1/projects/{project_id}/runs", DATA),
    Endpoint("GET", "/v1/projects/{project_id}/runs/{run_id}", DATA),
    Endpoint("PUT", "/v1/projects/{project_id}/watch", ANALYST, 200, "watch"),
    Endpoint("GET", "/v1/projects/{project_id}/runs/{run_id}/hits", HITS),
    Endpoint("GET", "/v1/projects/{project_id}/runs/{run_id}/hits/export", HITS),
    Endpoint("POST", "/v1/projects/{project_id}/suspects", ANALYST, 201, "suspect"),
    Endpoint("GET", "/v1/projects/{project_id}/suspects", SUSPECT_READ),
    Endpoint("GET", "/v1/projects/{project_id}/suspects/export", SUSPECT_READ),
    Endpoint("PATCH", "/v1/projects/{project_id}/suspects/{suspect_id}", ANALYST, 200, "note"),
    Endpoint("DELETE", "/v1/projects/{project_id}/suspects/{suspect_id}", ANALYST, 204),
    # audit log
    Endpoint("GET", "/v1/audit/entries", AUDITOR),
    Endpoint("GET", "/v1/audit/export", AUDITOR),
    Endpoint("GET", "/v1/audit/verify", AUDITOR),
    Endpoint("GET", "/v1/audit/keys", PUBLIC),
    # keys and disclosure
    Endpoint("GET", "/v1/principals/me", AUTHENTICATED),
    Endpoint("POST", "/v1/agencies/{agency_id}/keys", OFFICER, 201, "agency_key"),
    Endpoint("GET", "/v1/projects/{project_id}/keys", VISIBLE),
    Endpoint("PUT", "/v1/projects/{project_id}/team-key", TEAM_KEY, 200, "team_key"),
    Endpoint("GET", "/v1/projects/{project_id}/team-key", VISIBLE),
    Endpoint("PUT", "/v1/projects/{project_id}/key-check", ADMIN, 200, "key_check"),
    Endpoint(
        "PUT",
        "/v1/projects/{project_id}/wrapped-keys/{agency_id}",
        CUSTODIAN,
        200,
        "wrapped",
        ids="partner",
    ),
    Endpoint("GET", "/v1/projects/{project_id}/wrapped-keys/mine", OFFICER),
    Endpoint("POST", "/v1/projects/{project_id}/runs/{run_id}/hits/{number}/envelopes", ANALYST),
    Endpoint("POST", "/v1/projects/{project_id}/runs/{run_id}/envelopes", ANALYST, 200, "release"),
    Endpoint(
        "POST", "/v1/projects/{project_id}/runs/{run_id}/hits/{number}/approvals", OFFICER, 201
    ),
    Endpoint("GET", "/v1/projects/{project_id}/runs/{run_id}/approvals", HITS),
]


@dataclass
class World:
    tokens: dict[str, str]
    ids: dict[str, str]
    bodies: dict[str, dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)
    scoped: dict[str, dict[str, str]] = field(default_factory=dict)  # Endpoint.ids


@pytest.fixture
def world(client: TestClient, session: Session, settings: Settings, admin_token: str) -> World:
    own, partner, foreign = (make_agency(session, name) for name in ("Politie", "KMar", "FIOD"))
    officers = {
        "data_officer:own": make_principal(session, own, role=Role.DATA_OFFICER),
        "data_officer:foreign": make_principal(session, foreign, role=Role.DATA_OFFICER),
        "key_custodian:own": make_principal(session, own, role=Role.KEY_CUSTODIAN),
        "key_custodian:foreign": make_principal(session, foreign, role=Role.KEY_CUSTODIAN),
    }
    team = {
        f"{role}:{side}": make_principal(session, own, role=role, name=f"{role} {side}")
        for role in (Role.ANALYST, Role.AUDITOR)
        for side in ("own", "foreign")
    }
    project = make_project(
        session, [own, partner], members=[team["analyst:own"][0], team["auditor:own"][0]]
    )
    target, _ = make_principal(session, partner, name="Newcomer")
    world = World(
        tokens={"administrator": admin_token}
        | {caller: token for caller, (_, token) in (officers | team).items()},
        ids={
            "project_id": str(project.id),
            "principal_id": str(target.id),
            "token_id": str(token_of(session, target).id),
        },
        bodies={
            "agency": {"name": "Gemeente Rotterdam"},
            "principal": {"agency_id": str(own.id), "name": "New", "role": "analyst"},
            "project": {
                "name": "Second cycle",
                "purpose": "p",
                "legal_basis": "b",
                "agency_ids": [str(own.id), str(foreign.id)],
                "schema_fingerprint": "ab" * 32,
                "key_check": "0123456789abcdef",
            },
            "member": {"principal_id": str(target.id)},
            "settings": {"disclosure_approval": True},
            "watch": {"on": True},
        },
    )
    _add_upload(client, world, own.name)
    _add_run(session, settings, world, [own, partner], target)
    _add_keys(client, world, own.name, str(own.id))
    _add_partner_key(client, session, world, partner)
    _add_team_changes(session, world, project, partner)
    _add_enrolled(client, session, world, own)
    _add_retention(session, world, [own, partner])
    return world


def _add_partner_key(client: TestClient, session: Session, world: World, partner: Agency) -> None:
    # The partner agency's registered key: a custodian deposits the partner's wrapped key.
    _, officer = make_principal(session, partner, role=Role.DATA_OFFICER, name="Partner officer")
    public = generate_keypair(partner.name, KeyKind.AGENCY).public
    body = {"owner": partner.name, "public_key": base64.b64encode(public.key).decode()}
    key_id = client.post(f"/v1/agencies/{partner.id}/keys", json=body, headers=bearer(officer))
    world.bodies["wrapped"] = _wrapped_document(partner.name, key_id.json()["key_id"])
    world.scoped["partner"] = {"agency_id": str(partner.id)}


def _add_team_changes(session: Session, world: World, project: Project, agency: Agency) -> None:
    # A member proposed and awaiting confirmation, a confirmed one to remove, a fresh
    # principal's enrolment code, and another principal to propose.
    pending, _ = make_principal(session, agency, name="Proposed")
    member, _ = make_principal(session, agency, name="Member")
    fresh, _ = make_principal(session, agency, name="Enrolling")
    newcomer, _ = make_principal(session, agency, name="Second newcomer")
    admin = session.scalars(select(Principal).where(Principal.role == Role.ADMINISTRATOR)).first()
    assert admin is not None
    members.propose(
        session, project_id=project.id, principal_id=pending.id, added_by=admin.id, now=utcnow()
    )
    store.add_member(session, project_id=project.id, principal_id=member.id)
    code = new_enrolment_code()
    enrolment.add_code(
        session,
        principal_id=fresh.id,
        code_hash=hash_enrolment_code(code),
        created_by=admin.id,
        now=utcnow(),
    )
    session.commit()
    world.scoped |= {
        "pending": {"principal_id": str(pending.id)},
        "member": {"principal_id": str(member.id)},
    }
    world.bodies |= {"enrolment": {"code": code}, "member": {"principal_id": str(newcomer.id)}}


def _add_enrolled(client: TestClient, session: Session, world: World, agency: Agency) -> None:
    # A principal of the own agency that redeemed its code and awaits its second person.
    enrolled = store.add_principal(
        session, agency_id=agency.id, name="Enrolled", role=Role.ANALYST, active=False
    )
    admin = session.scalars(select(Principal).where(Principal.role == Role.ADMINISTRATOR)).first()
    assert admin is not None
    code = new_enrolment_code()
    enrolment.add_code(
        session,
        principal_id=enrolled.id,
        code_hash=hash_enrolment_code(code),
        created_by=admin.id,
        now=utcnow(),
    )
    session.commit()
    redeemed = client.post("/v1/enrolment", json={"code": code}).json()
    world.scoped["enrolled"] = {"principal_id": str(enrolled.id)}
    world.bodies["activate"] = {"enrolment_check": redeemed["enrolment_check"]}


def _add_retention(session: Session, world: World, agencies: list[Agency]) -> None:
    # An expired project to purge, and a purged one with its receipt.
    past = utcnow() - timedelta(days=1)
    expired, purged = (make_project(session, agencies, name=name) for name in ("Expired", "Purged"))
    for project in (expired, purged):
        project.expires_at = past
    receipt = {
        "format": "fieldlink-purge-receipt/1",
        "project_id": str(purged.id),
        "project": purged.name,
        "agencies": sorted(agency.name for agency in agencies),
        "expired_at": past.isoformat(),
        "purged_at": past.isoformat(),
        "counts": {"batches": 0},
        "audit_sequences": [],
        "key_id": "0" * 16,
        "public_key": "0" * 64,
        "signature": "0" * 128,
    }
    retention.add_receipt(session, purged.id, document=json.dumps(receipt), now=past)
    session.commit()
    world.scoped |= {
        "expired": {"project_id": str(expired.id)},
        "purged": {"project_id": str(purged.id)},
    }


def _add_keys(client: TestClient, world: World, agency: str, agency_id: str) -> None:
    # The own agency's registered key, the team key and the own agency's wrapped key.
    def key_body(owner: str) -> dict[str, str]:
        public = generate_keypair(owner, KeyKind.AGENCY).public
        return {"owner": owner, "public_key": base64.b64encode(public.key).decode()}

    registered = key_body(agency)
    ids = world.ids | {"agency_id": agency_id}
    officer, analyst = (bearer(world.tokens[who]) for who in ("data_officer:own", "analyst:own"))
    key_id = client.post(f"/v1/agencies/{agency_id}/keys", json=registered, headers=officer)
    client.put(
        "/v1/projects/{project_id}/team-key".format(**ids), json=key_body("Team"), headers=analyst
    )
    wrapped = _wrapped_document(agency, key_id.json()["key_id"])
    url = "/v1/projects/{project_id}/wrapped-keys/{agency_id}".format(**ids)
    deposited = client.put(url, json=wrapped, headers=bearer(world.tokens["key_custodian:own"]))
    assert deposited.status_code == 200, deposited.text
    world.ids = ids | {"number": "1"}
    world.bodies |= {
        "agency_key": key_body(agency),
        "team_key": key_body("Field Lab team"),
        "key_check": {"epoch": 2, "key_check": "fedcba9876543210"},
        "release": {"hits": [1, 2]},
    }


def _wrapped_document(agency: str, key_id: str) -> dict[str, Any]:
    # The hub checks labels only, so the ciphertext need not hold a real secret here.
    labels = WrappedKey(
        project="carousel",
        recipient=agency,
        recipient_key_id=key_id,
        epoch=1,
        key_check=KEY_CHECK,
        ephemeral_key=bytes(range(32)),
        nonce=bytes(12),
        ciphertext=bytes(48),
    )
    return dict(labels.to_document())


def _add_upload(client: TestClient, world: World, agency: str) -> None:
    url = "/v1/projects/{project_id}/uploads".format(**world.ids)
    headers = bearer(world.tokens["data_officer:own"]) | ARROW
    response = client.post(url, content=as_file(make_batch(agency)), headers=headers)
    world.ids["upload_id"] = response.json()["id"]
    world.files = {
        "new": as_file(make_batch(agency, first=100)),
        "other": as_file(make_batch(agency, seed=1)),
    }


def _add_run(
    session: Session, settings: Settings, world: World, agencies: list[Agency], partner: Principal
) -> None:
    # A second agency's upload, so that a run may start; a finished run with two hits, the
    # second one on the suspect list.
    batch = make_batch(agencies[1].name)
    project = session.get_one(Project, uuid.UUID(world.ids["project_id"]))
    store_upload(
        session, settings, project=project, agency=agencies[1], uploaded_by=partner.id, batch=batch
    )
    members = [[(agencies[0], f"own-{n}"), (agencies[1], f"partner-{n}")] for n in (1, 2)]
    run, hits = make_finished_run(session, project, partner.id, members)
    suspect = add_suspect(
        session,
        project_id=project.id,
        hit_id=hits[1].id,
        status=SuspectStatus.NEW,
        note="",
        created_by=partner.id,
        now=utcnow(),
    )
    session.commit()
    world.ids |= {"run_id": str(run.id), "suspect_id": str(suspect.id)}
    world.bodies |= {"run": {}, "suspect": {"hit_id": str(hits[0].id)}, "note": {"note": "seen"}}


# The roles each policy admits (the others get 403); PUBLIC and AUTHENTICATED admit all.
ADMITTED = {
    ADMIN: ("administrator",),
    OFFICER: ("data_officer",),
    DATA: ("data_officer", "analyst", "auditor"),
    ANALYST: ("analyst",),
    HITS: ("analyst", "data_officer"),
    AUDITOR: ("auditor",),
    TEAM_KEY: ("analyst", "administrator"),
    CUSTODIAN: ("key_custodian",),
    CONFIRM: ("data_officer",),
    RECEIPT: ("data_officer", "auditor", "administrator"),
    SUSPECT_READ: ("analyst", "auditor"),
    DIRECTORY: ("administrator", "auditor"),
    ACTIVATORS: ("administrator", "data_officer", "key_custodian"),
    ACTIVATE: ("data_officer", "key_custodian"),
}
# Policies that depend on the project: a caller outside it gets 404, as for an absent one.
SCOPED = (
    VISIBLE,
    OFFICER,
    DATA,
    ANALYST,
    HITS,
    TEAM_KEY,
    CUSTODIAN,
    CONFIRM,
    SUSPECT_READ,
    ACTIVATE,
)


def expected_status(endpoint: Endpoint, caller: str) -> int:
    if endpoint.policy == PUBLIC:
        return endpoint.success
    if caller == "anonymous":
        return 401
    admitted = ADMITTED.get(endpoint.policy)
    if admitted is not None and not caller.startswith(admitted):
        return 403
    if endpoint.policy in SCOPED and caller.endswith(":foreign"):
        return 404
    if endpoint.policy == RECEIPT and caller == "data_officer:foreign":
        return 404  # auditors read every receipt, as they read the whole log
    return endpoint.success


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_authorization_matrix(
    client: TestClient, world: World, endpoint: Endpoint, caller: str
) -> None:
    token = world.tokens.get(caller)
    headers = bearer(token) if token else {}
    body = world.bodies[endpoint.body] if endpoint.body else None
    content = world.files[endpoint.content] if endpoint.content else None
    if content is not None:
        headers |= ARROW

    ids = world.ids | world.scoped.get(endpoint.ids or "", {})
    response = client.request(
        endpoint.method,
        endpoint.path.format(**ids),
        json=body,
        content=content,
        headers=headers,
    )

    assert response.status_code == expected_status(endpoint, caller), response.text


def test_matrix_covers_every_route() -> None:
    spec = create_app(Settings()).openapi()
    routes = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}

    assert routes == {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
