"""HubClient: the typed HTTP client for the fieldlink hub, over an injected httpx.Client.

Agencies upload batches and fetch their hits with it, analysts start runs and keep the
suspect list, auditors export the log. It holds no secret but the caller's bearer token.

    with HubClient.connect("https://hub.example", token) as hub:
        upload = hub.upload(project_id, Path("politie.arrow"))
"""

import ipaddress
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

from linkage.errors import HubRequestError, HubUnreachable, InsecureTransport
from linkage.hub_models import (
    Agency,
    Approval,
    AuditCheck,
    AuditEntry,
    DepositedKey,
    Enrolled,
    EnrolmentCode,
    EnvelopeRelease,
    Hit,
    Member,
    NewPrincipal,
    PrincipalInfo,
    Project,
    RegisteredKey,
    Run,
    Suspect,
    Upload,
)
from linkage.names import same_name

ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.file"
UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024
ModelT = TypeVar("ModelT", bound=BaseModel)
Progress = Callable[[int], None]  # called with the bytes (upload) or share done

__all__ = ["ARROW_MEDIA_TYPE", "HubClient", "check_transport"]
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def check_transport(base_url: str, *, allow_insecure_http: bool = False) -> None:
    """Refuse a hub address over which a bearer token would cross a network in clear.

    https:// is always accepted; plain http:// only to this machine (localhost,
    127.0.0.0/8, ::1), where nothing leaves it, or when `allow_insecure_http` says the
    caller knows (a test network, a TLS-terminating tunnel on the same host).
    """
    url = httpx.URL(base_url)
    if url.scheme == "https" or allow_insecure_http:
        return
    if url.scheme == "http" and _is_loopback(url.host):
        return
    raise InsecureTransport(
        f"refusing {url.scheme}://{url.host}: the hub must be reached over https:// "
        "(plain http:// only to this machine; --insecure-http or FIELDLINK_INSECURE_HTTP=1 "
        "to allow it anyway)"
    )


def _is_loopback(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class HubClient:
    """Calls the hub's /v1 API; every failure is a HubRequestError naming status and code."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    @classmethod
    def connect(
        cls,
        base_url: str,
        token: str | None,
        *,
        timeout_s: float = 60.0,
        allow_insecure_http: bool = False,
    ) -> Self:
        """A client for the hub at `base_url`, authenticated with a bearer token.

        Raises:
            InsecureTransport: `base_url` is plain http:// to another machine, and
                `allow_insecure_http` is not set (see `check_transport`).
        """
        check_transport(base_url, allow_insecure_http=allow_insecure_http)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return cls(httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.http.close()

    # administration -----------------------------------------------------------------

    def create_agency(self, name: str) -> Agency:
        """Register an agency (administrator)."""
        return self._call(Agency, "POST", "/v1/agencies", json={"name": name})

    def agencies(self) -> list[Agency]:
        """Every registered agency (administrators and auditors)."""
        return self._items(Agency, "/v1/agencies")

    def principals(self) -> list[PrincipalInfo]:
        """Every registered principal: name, role, agency (administrators and auditors)."""
        return self._items(PrincipalInfo, "/v1/principals")

    def create_principal(self, agency_id: uuid.UUID, name: str, role: str) -> NewPrincipal:
        """Register a principal (administrator); its one-time enrolment code, shown this once.

        The principal redeems the code for its own token (`redeem_enrolment_code`).
        """
        body = {"agency_id": str(agency_id), "name": name, "role": role}
        answer = self._json("POST", "/v1/principals", json=body)
        enrolment = answer["enrolment"]
        return NewPrincipal(
            principal=answer["principal"],
            code=enrolment["code"],
            expires_at=enrolment["expires_at"],
        )

    def create_enrolment_code(self, principal_id: uuid.UUID) -> EnrolmentCode:
        """A new enrolment code for a principal (administrator); its tokens stop working."""
        return self._call(EnrolmentCode, "POST", f"/v1/principals/{principal_id}/enrolment")

    def redeem_enrolment_code(self, code: str) -> Enrolled:
        """Exchange a one-time enrolment code for the own bearer token (no token needed).

        The token works once a second person activated the principal, quoting the
        answer's enrolment check (`activate_principal`).
        """
        return self._call(Enrolled, "POST", "/v1/enrolment", json={"code": code})

    def pending_principals(self) -> list[PrincipalInfo]:
        """Principals awaiting activation that the caller may see (activators only)."""
        return self._items(PrincipalInfo, "/v1/principals/pending")

    def activate_principal(self, principal_id: uuid.UUID, enrolment_check: str) -> PrincipalInfo:
        """Activate an enrolled principal: the second person, with the check it read out."""
        url = f"/v1/principals/{principal_id}/activate"
        body = {"enrolment_check": enrolment_check}
        return self._call(PrincipalInfo, "POST", url, json=body)

    def create_own_token(self) -> str:
        """Another bearer token of the caller's own (a second machine, a renewal)."""
        return str(self._json("POST", "/v1/principals/me/tokens")["token"])

    def disable_principal(self, principal_id: uuid.UUID) -> PrincipalInfo:
        """Disable a principal (administrator): its tokens stop working at once."""
        return self._call(PrincipalInfo, "POST", f"/v1/principals/{principal_id}/disable")

    def create_project(self, **fields: Any) -> Project:
        """Register a project (administrator); fields as in the API's ProjectCreate."""
        return self._call(Project, "POST", "/v1/projects", json=_jsonable(fields))

    def update_project(self, project_id: uuid.UUID, **settings: Any) -> Project:
        """Change a project's settings (administrator), as in the API's ProjectUpdate.

        Settings not named stay; a threshold of None is chosen from the data again, an
        `upload_budget_records` of None lifts the budget. The probing controls are
        `upload_budget_records`, `max_near_duplicate_share`, `min_fill_share` and
        `require_salted_encodings`.
        """
        body = _jsonable(settings)
        return self._call(Project, "PATCH", f"/v1/projects/{project_id}", json=body)

    def set_watch(self, project_id: uuid.UUID, *, on: bool) -> Project:
        """Turn the project's standing watch on or off (analyst on the team)."""
        return self._call(Project, "PUT", f"/v1/projects/{project_id}/watch", json={"on": on})

    def add_member(self, project_id: uuid.UUID, principal_id: uuid.UUID) -> Member:
        """Propose a principal for a project's team (administrator); pending until confirmed."""
        body = {"principal_id": str(principal_id)}
        return self._call(Member, "POST", f"/v1/projects/{project_id}/members", json=body)

    def confirm_member(self, project_id: uuid.UUID, principal_id: uuid.UUID) -> Member:
        """Confirm a proposed member: a data officer of one of the project's agencies."""
        url = f"/v1/projects/{project_id}/members/{principal_id}/confirm"
        return self._call(Member, "POST", url)

    def remove_member(self, project_id: uuid.UUID, principal_id: uuid.UUID) -> None:
        """Take a principal off a project's team (administrator); effective at once."""
        self._send("DELETE", f"/v1/projects/{project_id}/members/{principal_id}")

    def team(self, project_id: uuid.UUID) -> list[Member]:
        """A project's team with each membership's state (pending or confirmed)."""
        return self._items(Member, f"/v1/projects/{project_id}/members")

    def purge_project(self, project_id: uuid.UUID, target: Path) -> dict[str, Any]:
        """Purge an expired project's data (administrator); saves the signed receipt."""
        return self._save_json("POST", f"/v1/projects/{project_id}/purge", target)

    def purge_receipt(self, project_id: uuid.UUID, target: Path) -> dict[str, Any]:
        """Save the signed purge receipt of a purged project (data officer, auditor)."""
        return self._save_json("GET", f"/v1/projects/{project_id}/purge-receipt", target)

    def me(self) -> PrincipalInfo:
        """The caller's own principal: name, role and agency."""
        return self._call(PrincipalInfo, "GET", "/v1/principals/me")

    # projects and uploads -----------------------------------------------------------

    def projects(self) -> list[Project]:
        """The projects visible to the caller."""
        return self._items(Project, "/v1/projects")

    def find_project(self, name_or_id: str) -> Project:
        """A visible project by name (any case) or id; a HubRequestError 404 when there is none.

        A name written exactly as created wins over one that differs only in case (two such
        projects can exist on an older hub); several of the latter are refused, asking for
        the id.
        """
        projects = self.projects()
        for project in projects:
            if name_or_id in (project.name, str(project.id)):
                return project
        found = [project for project in projects if same_name(project.name, name_or_id)]
        if len(found) == 1:
            return found[0]
        if found:
            raise HubRequestError(409, "ambiguous", "several projects have that name: give the id")
        raise HubRequestError(404, "not-found", "no visible project with that name or id")

    def upload(
        self, project_id: uuid.UUID, path: Path, *, progress: Progress | None = None
    ) -> Upload:
        """Stream a batch file to the project (data officer); idempotent by content."""
        url = f"/v1/projects/{project_id}/uploads"
        response = self._send_batch("POST", url, path, progress)
        stored = Upload.model_validate(response.json())
        # 200 instead of 201: the identical file was stored already, nothing new
        return stored.model_copy(update={"already_stored": response.status_code == 200})

    def replace_upload(
        self,
        project_id: uuid.UUID,
        upload_id: uuid.UUID,
        path: Path,
        *,
        progress: Progress | None = None,
    ) -> Upload:
        """Replace the content of one of the own agency's uploads; it keeps its id."""
        url = f"/v1/projects/{project_id}/uploads/{upload_id}"
        return Upload.model_validate(self._send_batch("PUT", url, path, progress).json())

    def uploads(self, project_id: uuid.UUID) -> list[Upload]:
        """The project's uploads visible to the caller."""
        return self._items(Upload, f"/v1/projects/{project_id}/uploads")

    def delete_upload(self, project_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """Remove one of the own agency's uploads."""
        self._send("DELETE", f"/v1/projects/{project_id}/uploads/{upload_id}")

    # runs and hits -------------------------------------------------------------------

    def start_run(self, project_id: uuid.UUID, *, threshold: float | None = None) -> Run:
        """Start a matching run over the project's current uploads (analyst)."""
        body = {"threshold": threshold} if threshold is not None else {}
        return self._call(Run, "POST", f"/v1/projects/{project_id}/runs", json=body)

    def run(self, project_id: uuid.UUID, run_id: uuid.UUID) -> Run:
        """A run's status and progress."""
        return self._call(Run, "GET", f"/v1/projects/{project_id}/runs/{run_id}")

    def runs(self, project_id: uuid.UUID) -> list[Run]:
        """The project's runs."""
        return self._items(Run, f"/v1/projects/{project_id}/runs")

    def wait(
        self,
        project_id: uuid.UUID,
        run_id: uuid.UUID,
        *,
        poll_s: float = 0.5,
        timeout_s: float = 3600.0,
        on_progress: Callable[[Run], None] | None = None,
    ) -> Run:
        """Poll a run until it has finished; TimeoutError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.run(project_id, run_id)
            if on_progress is not None:
                on_progress(run)
            if run.finished:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout_s:.0f} s")
            time.sleep(poll_s)

    def hits(self, project_id: uuid.UUID, run_id: uuid.UUID, *, page: int = 100) -> Iterator[Hit]:
        """Every hit of a run the caller may see, page by page."""
        url = f"/v1/projects/{project_id}/runs/{run_id}/hits"
        after: int | None = None
        while True:
            params: dict[str, Any] = {"limit": page} | ({"after": after} if after else {})
            answer = self._json("GET", url, params=params)
            yield from (Hit.model_validate(item) for item in answer["items"])
            after = answer.get("next_after")
            if after is None:
                return

    def export_hits(
        self, project_id: uuid.UUID, run_id: uuid.UUID, target: Path, *, fmt: str = "json"
    ) -> None:
        """Download a run's hits (JSON: the fieldlink-hits/1 file `fieldlink reveal` reads)."""
        url = f"/v1/projects/{project_id}/runs/{run_id}/hits/export"
        self._download(url, target, params={"format": fmt})

    # suspect list --------------------------------------------------------------------

    def add_suspect(
        self, project_id: uuid.UUID, hit_id: uuid.UUID, *, status: str = "new", note: str = ""
    ) -> Suspect:
        """Shortlist a hit into the project's suspect list (analyst)."""
        body = {"hit_id": str(hit_id), "status": status, "note": note}
        return self._call(Suspect, "POST", f"/v1/projects/{project_id}/suspects", json=body)

    def update_suspect(
        self, project_id: uuid.UUID, suspect_id: uuid.UUID, **fields: str
    ) -> Suspect:
        """Change a suspect's status and/or note."""
        url = f"/v1/projects/{project_id}/suspects/{suspect_id}"
        return self._call(Suspect, "PATCH", url, json=fields)

    def delete_suspect(self, project_id: uuid.UUID, suspect_id: uuid.UUID) -> None:
        """Take a hit off the suspect list."""
        self._send("DELETE", f"/v1/projects/{project_id}/suspects/{suspect_id}")

    def suspects(self, project_id: uuid.UUID) -> list[Suspect]:
        """The project's suspect list."""
        return self._items(Suspect, f"/v1/projects/{project_id}/suspects")

    def export_suspects(self, project_id: uuid.UUID, target: Path, *, fmt: str = "csv") -> None:
        """Download the suspect list as CSV or JSON."""
        url = f"/v1/projects/{project_id}/suspects/export"
        self._download(url, target, params={"format": fmt})

    # keys and disclosure ----------------------------------------------------------------

    def register_key(self, agency_id: uuid.UUID, owner: str, public_key: str) -> RegisteredKey:
        """Register the own agency's public key (data officer); `public_key` in base64."""
        body = {"owner": owner, "public_key": public_key}
        return self._call(RegisteredKey, "POST", f"/v1/agencies/{agency_id}/keys", json=body)

    def project_keys(self, project_id: uuid.UUID) -> list[RegisteredKey]:
        """The live public keys of a project's agencies, and its team key."""
        return self._items(RegisteredKey, f"/v1/projects/{project_id}/keys")

    def set_team_key(self, project_id: uuid.UUID, owner: str, public_key: str) -> RegisteredKey:
        """Register the project team's public key (analyst on the team, or administrator)."""
        body = {"owner": owner, "public_key": public_key}
        return self._call(RegisteredKey, "PUT", f"/v1/projects/{project_id}/team-key", json=body)

    def team_key(self, project_id: uuid.UUID) -> RegisteredKey:
        """The project's team public key."""
        return self._call(RegisteredKey, "GET", f"/v1/projects/{project_id}/team-key")

    def rotate_key_check(self, project_id: uuid.UUID, *, epoch: int, key_check: str) -> Project:
        """Move the project to a new secret's key check value (administrator)."""
        body = {"epoch": epoch, "key_check": key_check}
        return self._call(Project, "PUT", f"/v1/projects/{project_id}/key-check", json=body)

    def deposit_wrapped_key(
        self,
        project_id: uuid.UUID,
        agency_id: uuid.UUID,
        document: dict[str, Any],
        *,
        replace: bool = False,
    ) -> DepositedKey:
        """Deposit the secret wrapped for one agency (key custodian).

        A wrapped key the agency has for the epoch is never replaced (409), unless `replace`
        re-wraps for an agency that registered a new key pair since.
        """
        url = f"/v1/projects/{project_id}/wrapped-keys/{agency_id}"
        params = {"replace": "true"} if replace else {}
        return self._call(DepositedKey, "PUT", url, json=document, params=params)

    def own_wrapped_key(self, project_id: uuid.UUID, *, epoch: int | None = None) -> DepositedKey:
        """The own agency's wrapped key (latest epoch unless named), to unwrap locally."""
        params = {"epoch": epoch} if epoch is not None else {}
        url = f"/v1/projects/{project_id}/wrapped-keys/mine"
        return self._call(DepositedKey, "GET", url, params=params)

    def release_envelopes(
        self, project_id: uuid.UUID, run_id: uuid.UUID, numbers: list[int]
    ) -> list[EnvelopeRelease]:
        """The sealed envelopes of these hits' members (analyst on the team)."""
        url = f"/v1/projects/{project_id}/runs/{run_id}/envelopes"
        answer = self._json("POST", url, json={"hits": numbers})
        return [EnvelopeRelease.model_validate(item) for item in answer["items"]]

    def approve_disclosure(self, project_id: uuid.UUID, run_id: uuid.UUID, number: int) -> Approval:
        """Approve releasing the own agency's envelopes of one hit (data officer)."""
        url = f"/v1/projects/{project_id}/runs/{run_id}/hits/{number}/approvals"
        return self._call(Approval, "POST", url)

    def approvals(
        self, project_id: uuid.UUID, run_id: uuid.UUID, *, pending: bool = False
    ) -> Iterator[Approval]:
        """Per hit and agency, whether disclosure was approved (data officers: own agency)."""
        url = f"/v1/projects/{project_id}/runs/{run_id}/approvals"
        after: int | None = 0
        while after is not None:
            params = {"after": after, "limit": 1000, "pending": pending}
            answer = self._json("GET", url, params=params)
            yield from (Approval.model_validate(item) for item in answer["items"])
            after = answer.get("next_after")

    # audit ---------------------------------------------------------------------------

    def export_audit(self, target: Path) -> None:
        """Download the audit log with its signed checkpoints (auditor)."""
        self._download("/v1/audit/export", target)

    def audit_keys(self) -> dict[str, Any]:
        """The hub's published audit signing keys."""
        keys: dict[str, Any] = self._json("GET", "/v1/audit/keys")
        return keys

    def audit_entries(self, *, page: int = 1000, **filters: Any) -> Iterator[AuditEntry]:
        """Audit entries in chain order (auditor), page by page.

        Filters as in GET /v1/audit/entries: `project_id`, `principal_id`, `agency_id`,
        `action`, `outcome`, `since` (inclusive), `until` (exclusive); None means any.
        """
        params = {name: value for name, value in _jsonable(filters).items() if value is not None}
        after: int | None = 0
        while after is not None:
            answer = self._json(
                "GET", "/v1/audit/entries", params=params | {"after": after, "limit": page}
            )
            yield from (AuditEntry.model_validate(item) for item in answer["items"])
            after = answer.get("next_after")

    def verify_audit(self) -> AuditCheck:
        """Ask the hub to verify its stored chain: entry hashes, links, signatures (auditor)."""
        return self._call(AuditCheck, "GET", "/v1/audit/verify")

    # plumbing ------------------------------------------------------------------------

    def _call(self, model: type[ModelT], method: str, url: str, **options: Any) -> ModelT:
        return model.model_validate(self._json(method, url, **options))

    def _items(self, model: type[ModelT], url: str) -> list[ModelT]:
        return [model.model_validate(item) for item in self._json("GET", url)["items"]]

    def _json(self, method: str, url: str, **options: Any) -> Any:
        return self._send(method, url, **options).json()

    def _save_json(self, method: str, url: str, target: Path) -> dict[str, Any]:
        # Saved byte for byte as answered: a signed document stays as it was signed.
        response = self._send(method, url)
        target.write_bytes(response.content)
        answer: dict[str, Any] = response.json()
        return answer

    @property
    def address(self) -> str:
        """The hub's address as errors name it (never a user name or password in it)."""
        return str(self.http.base_url.copy_with(username=None, password=None)).rstrip("/")

    def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        with _reaching_the_hub(self.address):
            response = self.http.request(method, url, **options)
        _raise_for_problem(response)
        return response

    def _send_batch(
        self, method: str, url: str, path: Path, progress: Progress | None
    ) -> httpx.Response:
        headers = {"Content-Type": ARROW_MEDIA_TYPE, "Content-Length": str(path.stat().st_size)}
        return self._send(method, url, content=_chunks(path, progress), headers=headers)

    def _download(self, url: str, target: Path, **options: Any) -> None:
        partial = target.with_name(target.name + ".partial")
        with _reaching_the_hub(self.address), self.http.stream("GET", url, **options) as response:
            if response.is_error:
                response.read()
                _raise_for_problem(response)
            with open(partial, "wb") as sink:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
        partial.replace(target)


@contextmanager
def _reaching_the_hub(address: str) -> Iterator[None]:
    """Transport failures as HubUnreachable naming the address tried: one error tree."""
    try:
        yield
    except httpx.TransportError as err:
        raise HubUnreachable(f"cannot reach the hub at {address} ({type(err).__name__})") from err


def _raise_for_problem(response: httpx.Response) -> None:
    if not response.is_error:
        return
    try:
        problem = response.json()
        code, detail = str(problem["code"]), str(problem.get("detail") or problem["title"])
        if problem.get("errors"):
            detail += ": " + "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in problem["errors"]
            )
    except (ValueError, KeyError, TypeError):
        code, detail = "http-error", response.reason_phrase
    raise HubRequestError(response.status_code, code, detail)


def _chunks(path: Path, progress: Progress | None) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(UPLOAD_CHUNK_BYTES):
            if progress is not None:
                progress(len(chunk))
            yield chunk


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, uuid.UUID | datetime):
            return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
        if isinstance(value, list | tuple):
            return [convert(item) for item in value]
        return value

    return {name: convert(value) for name, value in fields.items()}
