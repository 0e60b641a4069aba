"""`fieldlink admin agencies|principals|projects|members`: what the hub has registered.

Administrators read all four; auditors may read the agency and principal directories too
(to tell who is who in the log). Ids print as their first 8 characters, which every
command taking an id accepts; names are matched in any case.
"""

import argparse
import uuid
from typing import TypeAlias

from linkage.cli.remote import add_hub_options, connect
from linkage.client import HubClient
from linkage.errors import HubRequestError, LinkageError
from linkage.hub_models import PrincipalInfo

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
ROLES = ("data_officer", "analyst", "auditor", "key_custodian", "administrator")


def register_lists(actions: Commands) -> None:
    """Add the list actions to the `admin` group."""
    agencies = _add(actions, "agencies", "list the registered agencies")
    agencies.set_defaults(run=_agencies)
    principals = _add(actions, "principals", "list the registered principals")
    principals.add_argument("--agency", help="only this agency's (name or id)")
    principals.add_argument("--role", choices=ROLES, help="only this role")
    principals.set_defaults(run=_principals)
    projects = _add(actions, "projects", "list the projects and their settings")
    projects.set_defaults(run=_projects)
    members = _add(actions, "members", "list a project's team")
    members.add_argument("--project", required=True, help="project name or id")
    members.set_defaults(run=_members)


def _add(actions: Commands, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help_text)
    add_hub_options(parser)
    return parser


def _agencies(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        agencies = hub.agencies()
    for agency in agencies:
        print(f"{str(agency.id)[:8]}  {agency.name}")
    print(f"{len(agencies)} agencies")
    return 0


def _principals(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        names = {agency.id: agency.name for agency in hub.agencies()}
        chosen = hub.principals()
    if args.agency is not None:
        wanted = _agency_id(names, args.agency)
        chosen = [item for item in chosen if item.agency_id == wanted]
    if args.role is not None:
        chosen = [item for item in chosen if item.role == args.role]
    for principal in chosen:
        print(principal_line(principal, names))
    print(f"{len(chosen)} principals")
    return 0


def _projects(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        projects = hub.projects()
    for project in projects:
        threshold = "from the data" if project.threshold is None else f"{project.threshold:g}"
        print(
            f"{str(project.id)[:8]}  {project.name:<16} {len(project.agency_ids)} agencies, "
            f"k {project.min_agencies}, threshold {threshold}, "
            f"expires {project.expires_at:%Y-%m-%d}"
        )
    print(f"{len(projects)} projects")
    return 0


def _members(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        names = _agency_names(hub)
        members = hub.team(project.id)
    for member in members:
        print(f"{principal_line(member, names)}  {member.status}")
    print(f"{len(members)} members of project {project.name}")
    return 0


def principal_line(principal: PrincipalInfo, agencies: dict[uuid.UUID, str]) -> str:
    """A principal on one line: short id, name, role, agency."""
    agency = agencies.get(principal.agency_id, str(principal.agency_id))
    pending = "  (pending activation)" if principal.pending_activation else ""
    return f"{str(principal.id)[:8]}  {principal.name:<24} {principal.role:<14} {agency}{pending}"


def _agency_names(hub: HubClient) -> dict[uuid.UUID, str]:
    try:
        return {agency.id: agency.name for agency in hub.agencies()}
    except HubRequestError as err:
        if err.status == 403:  # a team member who is no administrator or auditor: ids only
            return {}
        raise


def _agency_id(names: dict[uuid.UUID, str], spec: str) -> uuid.UUID:
    wanted = spec.casefold()
    for key, name in names.items():
        if name.casefold() == wanted or (len(wanted) >= 4 and str(key).startswith(wanted)):
            return key
    raise LinkageError(f"no agency {spec!r} is registered")
