"""``datavow tenant end|export|delete|certificate|list``: offboarding a processor's controller at the
end of its contract (Art. 28(3)(g)); thin over :mod:`datavow.retention.offboarding`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table
from rich.text import Text

from datavow.cli.options import EXIT_NO, actor_option, application, json_option, state_options
from datavow.cli.output import console, print_json
from datavow.retention.offboarding import (
    Offboarding,
    delete_tenant,
    end_contract,
    export_tenant,
    list_offboardings,
)
from datavow.retention.offboarding.certificate import write_certificate
from datavow.retention.schedule import Stop

F = TypeVar("F", bound=Callable[..., Any])


system_option = click.option(
    "--system", metavar="NAME", help="The system the tenant is in (default: the map's one system with 'tenant:')."
)


def out_option(what: str, default: str) -> Callable[[F], F]:
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help=f"Folder for {what} (default: {default}).",
    )


@click.group("tenant")
def tenant_group() -> None:
    """Offboard a controller when its contract ends: return its data, delete it, certify the deletion."""


@tenant_group.command("end")
@click.argument("tenant")
@state_options
@system_option
@click.option(
    "--on",
    "ended_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day the contract ended (default: today, UTC).",
)
@click.option("--reason", help="Why, or which notice ended it, for the audit log.")
@json_option()
@actor_option
def end_command(
    tenant: str,
    state_url: str | None,
    map_path: Path,
    system: str | None,
    ended_on: datetime | None,
    reason: str | None,
    as_json: bool,
    actor: str,
) -> None:
    """Record that TENANT's contract ended: its data is due for deletion 'retention.offboarding'
    (90 days unless the map says otherwise) later."""
    app = application(map_path, state_url, create=True)
    loaded = app.loaded
    day = ended_on.date() if ended_on is not None else datetime.now(UTC).date()
    store = app.store
    done = end_contract(store, loaded, system, tenant, ended_at=day, actor=actor, reason=reason)
    if as_json:
        print_json(done.to_dict())
        return
    console.print(
        f"{_who(done)}: contract ended {done.contract_ended_at:%Y-%m-%d}; its data is to be returned and deleted "
        f"by {done.due_at:%Y-%m-%d}. Next: 'datavow tenant export {done.tenant}'.",
    )


@tenant_group.command("export")
@click.argument("tenant")
@state_options
@system_option
@out_option("the package", ".datavow/exports")
@json_option()
@actor_option
def export_command(
    tenant: str,
    state_url: str | None,
    map_path: Path,
    system: str | None,
    out_dir: Path | None,
    as_json: bool,
    actor: str,
) -> None:
    """Return TENANT's data: every row of it, as JSON and CSV, in one encrypted export package
    (sealed like an access export), its SHA-256 in the audit log."""
    app = application(map_path, state_url, create=True)
    loaded = app.loaded
    store = app.store
    done = export_tenant(store, loaded, system, tenant, actor=actor, out_dir=out_dir)
    package = done.package
    if as_json:
        summary = {
            "offboarding": done.offboarding.to_dict(),
            "package": str(package.path),
            "sha256": package.sha256,
            "expires_at": package.header.expires_at.isoformat(),
            "rows": package.rows,
        }
        print_json(summary)
        return
    for label, rows in package.rows.items():
        console.print(f"  {label}: {rows:,} rows")
    console.print(
        f"{_who(done.offboarding)}: {sum(package.rows.values()):,} rows in {package.path} "
        f"(SHA-256 {package.sha256}, readable until {package.header.expires_at:%Y-%m-%d})",
    )


@tenant_group.command("delete")
@click.argument("tenant")
@state_options
@system_option
@click.option("--force", is_flag=True, help="Delete although the data was never returned (recorded as forced).")
@click.option("--chunk-rows", type=click.IntRange(min=1), help="Rows per transaction (default: sized to the time).")
@json_option()
@actor_option
def delete_command(
    tenant: str,
    state_url: str | None,
    map_path: Path,
    system: str | None,
    force: bool,
    chunk_rows: int | None,
    as_json: bool,
    actor: str,
) -> None:
    """Delete every row of TENANT in its system, children first, in short transactions under the
    system's sweep lock; rows a legal hold keeps stay, and are reported. Safe to stop and run again."""
    app = application(map_path, state_url, create=True)
    loaded = app.loaded
    stop = Stop()
    store = app.store
    with stop.on_signals():
        done = delete_tenant(
            store,
            loaded,
            system,
            tenant,
            actor=actor,
            force=force,
            chunk_rows=chunk_rows,
            stop=stop,
        )
    if as_json:
        print_json(done.to_dict())
    else:
        style = "green" if done.status == "done" else "red"
        error = f" — {done.error}" if done.error else ""
        console.print(Text.assemble(f"{_who(done.offboarding)}: ", (done.status, style), error))
        for label, rows in done.deleted.items():
            console.print(f"  {label}: {rows:,} deleted")
        for kept in done.kept:
            why = []
            if kept.held:
                until = f" until {kept.until:%Y-%m-%d}" if kept.until else ""
                why.append(f"{kept.held:,} under the hold for {kept.purpose}{until}")
            if kept.referenced:
                why.append(f"{kept.referenced:,} still referenced by rows that stay")
            console.print(f"  {kept.table}: kept {', '.join(why)}")
        console.print(f"{done.changed:,} rows deleted in {done.chunks} chunks", style="dim")
    if done.status != "done":
        raise SystemExit(EXIT_NO)


@tenant_group.command("certificate")
@click.argument("tenant")
@state_options
@system_option
@out_option("the certificate", ".datavow/certificates")
@json_option()
@actor_option
def certificate_command(
    tenant: str,
    state_url: str | None,
    map_path: Path,
    system: str | None,
    out_dir: Path | None,
    as_json: bool,
    actor: str,
) -> None:
    """Write the certificate of deletion of TENANT's data (HTML and JSON), drawn from the audit log."""
    app = application(map_path, state_url, create=True)
    loaded = app.loaded
    store = app.store
    done = write_certificate(store, loaded, system, tenant, actor=actor, out_dir=out_dir)
    if as_json:
        print_json(done.facts)
        return
    chain = "verified" if done.facts["chain"]["ok"] else "DID NOT VERIFY"
    console.print(f"{done.html}\n{done.json}\n(the audit chain {chain} when it was written)")


@tenant_group.command("list")
@state_options
@system_option
@json_option()
def list_command(state_url: str | None, map_path: Path, system: str | None, as_json: bool) -> None:
    """Every offboarding, soonest due first; those past their due date and not deleted are overdue."""
    now = datetime.now(UTC)
    app = application(map_path, state_url, create=False)
    store = app.store
    found = list_offboardings(store, system=system)
    if as_json:
        print_json([item.to_dict(now) for item in found])
        return
    table = Table(title="offboardings", title_justify="left")
    for column in ("system", "tenant", "controller", "ended", "due", "status", "exported", "deleted"):
        table.add_column(column)
    for item in found:
        due = f"{item.due_at:%Y-%m-%d}" + (" OVERDUE" if item.overdue(now) else "")
        table.add_row(
            item.system,
            item.tenant,
            item.controller or "",
            _day(item.contract_ended_at),
            Text(due, "red") if item.overdue(now) else due,
            item.status,
            _day(item.exported_at),
            _day(item.deleted_at),
        )
    console.print(table)


def _who(item: Offboarding) -> str:
    return f"{item.controller} (tenant {item.tenant} of {item.system})" if item.controller else f"tenant {item.tenant}"


def _day(moment: date | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d}"
