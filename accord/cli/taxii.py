"""``accord taxii pull``: page through a remote TAXII 2.1 collection into a bank and reports
(docs/federation.md, "TAXII 2.1"). The remote is read with ``taxii2-client``; the cursor (the last page's
X-TAXII-Date-Added-Last) is stored per organisation and collection URL after each page, so a pull cut
off resumes where it stopped and a second pull fetches only what was added since."""

from __future__ import annotations

from typing import Annotated, Any

import requests
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from accord.cli.context import command_node
from accord.cli.exit import DEPENDENCY_ERROR, fail, reporting
from accord.services import admin
from accord.services import taxii as service

__all__ = ["BearerAuth", "taxii_app"]

taxii_app = typer.Typer(no_args_is_help=True, help="TAXII 2.1: pull from a remote collection.")
out = Console(soft_wrap=True, highlight=False)


class BearerAuth(requests.auth.AuthBase):
    """A ``requests`` auth object sending ``Authorization: Bearer <token>`` (what Accord's API takes;
    taxii2-client passes any such object through its ``auth=``)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def collection_url(url: str, api_root: str, collection: str) -> str:
    return f"{url.rstrip('/')}/{api_root.strip('/')}/collections/{collection}/"


@taxii_app.command("pull")
def pull(
    ctx: typer.Context,
    url: Annotated[str, typer.Option("--url", help="the TAXII server's base URL (e.g. https://host/taxii2/)")],
    api_root: Annotated[str, typer.Option("--api-root", help="the API root's name under the base URL")],
    collection: Annotated[str, typer.Option("--collection", help="the collection's id")],
    org: Annotated[str, typer.Option("--org", help="organisation id (the bank's owner)")],
    bank: Annotated[str | None, typer.Option("--bank", help="put indicators' file hashes into this bank")] = None,
    key: Annotated[
        str | None, typer.Option(envvar="ACCORD_KEY", help="an API key of the organisation's: import reports too")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="ACCORD_TAXII_TOKEN", help="bearer token for the remote server")
    ] = None,
    user: Annotated[str | None, typer.Option(help="HTTP Basic user for the remote server")] = None,
    password: Annotated[str | None, typer.Option(envvar="ACCORD_TAXII_PASSWORD", help="HTTP Basic password")] = None,
    limit: Annotated[int, typer.Option(min=1, help="objects per request")] = 500,
) -> None:
    """Pull what the collection added since the last pull (everything, the first time)."""
    from taxii2client.exceptions import TAXIIServiceException
    from taxii2client.v21 import Collection, as_pages

    if bank is None and key is None:
        raise fail("name a --bank to fill, a --key to import reports with, or both")
    source = collection_url(url, api_root, collection)
    auth = BearerAuth(token) if token else None
    with command_node(ctx) as node:
        with reporting():
            actor = admin.authenticate(node, key) if key else None
            if actor is not None and actor.org_id != org:
                raise fail("--key belongs to another organisation than --org")
            after = service.pull_cursor(node, org, source)
        remote = Collection(source, user=user, password=password, auth=auth)
        last: dict[str, Any] = {}
        remote._conn.session.hooks["response"].append(lambda r, *a, **k: last.update(headers=r.headers))
        totals = service.Pulled()
        try:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
                task = bar.add_task("pulling", total=None)
                kwargs = {"added_after": after} if after else {}
                for envelope in as_pages(remote.get_objects, per_request=limit, **kwargs):
                    objs = envelope.get("objects", [])
                    added_last = last.get("headers", {}).get("X-TAXII-Date-Added-Last") if objs else None
                    with reporting(source):
                        page = service.pull_page(node, org, source, objs, added_last, bank=bank, actor=actor)
                    for name in vars(totals):
                        setattr(totals, name, getattr(totals, name) + getattr(page, name))
                    bar.update(task, description=f"pulled {totals.objects} objects")
        except (TAXIIServiceException, requests.RequestException) as exc:
            raise fail(f"{source}: {exc}", DEPENDENCY_ERROR) from None
    out.print(
        f"{totals.objects} objects: bank entries {totals.added} added, {totals.already_present} already held, "
        f"{totals.invalid} invalid; reports {totals.reports} added, {totals.duplicates} already held, "
        f"{totals.rejected} rejected"
    )
