"""``datavow incident open|analyse|classify|notify|resolve|close|list|show|export``: the incident
register with its 72-hour clock (Art. 33, 34); thin over :mod:`datavow.incidents`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from datavow.cli.options import actor_option, application, json_option, split_pair, state_options
from datavow.cli.output import console, print_json
from datavow.incidents import (
    AUTHORITY_HOURS,
    Incident,
    analyse_breach,
    classify_incident,
    close_incident,
    export_breach_register,
    get_incident,
    list_incidents,
    notify_breach,
    register_breach,
    resolve_incident,
)
from datavow.incidents.clock import shown
from datavow.incidents.model import EXEMPTIONS, KINDS, PRIORITIES, RISKS
from datavow.language import LANGUAGES

zone_option = click.option(
    "--zone",
    metavar="ZONE",
    help="IANA time zone for times written without an offset (e.g. Europe/Brussels; default: the map's "
    "incidents.zone); never guessed.",
)
id_argument = click.argument("incident_id", metavar="ID", type=int)
_STYLE = {"overdue": "bold red", "due_soon": "yellow", "done_late": "red", "done": "green"}


@click.group("incident")
def incident_group() -> None:
    """The incident register: register a breach, analyse, classify, notify, resolve, evaluate."""


@incident_group.command("open")
@click.argument("title")
@state_options
@click.option("--description", required=True, help="What happened: the nature of the breach.")
@click.option("--aware", "aware_text", metavar="TIME", help="When you became aware (default: now); starts the clock.")
@zone_option
@click.option("--occurred-from", metavar="TIME", help="When the breach began, if known.")
@click.option("--occurred-until", metavar="TIME", help="When it ended, if known.")
@click.option("--discovery", help="How it came to light (a report, monitoring, a customer).")
@click.option(
    "--controller-hours",
    type=click.IntRange(min=1),
    help="Hours after awareness by which each affected controller is told (your contracts' 'without undue delay'; "
    "default: the map's incidents.controller_hours, else 24).",
)
@json_option("the incident")
@actor_option
def open_command(
    title: str,
    state_url: str | None,
    map_path: Path,
    description: str,
    aware_text: str | None,
    zone: str | None,
    occurred_from: str | None,
    occurred_until: str | None,
    discovery: str | None,
    controller_hours: int | None,
    as_json: bool,
    actor: str,
) -> None:
    """Register a breach (stage 1). The 72-hour clock runs from --aware, not from now."""
    app = application(map_path, state_url, create=True)
    done = register_breach(
        app.store,
        app.loaded,
        title,
        description,
        actor=actor,
        aware=aware_text,
        zone=zone,
        occurred_from=occurred_from,
        occurred_until=occurred_until,
        discovery=discovery,
        controller_hours=controller_hours,
    )
    due = shown(done.authority_clock(done.registered_at).due_at, done.zone)
    _print(
        done,
        as_json,
        f"incident {done.id} registered; unless it is assessed as no risk, the authority must be told by {due}",
    )


@incident_group.command("analyse")
@id_argument
@state_options
@click.option("--table", "tables", multiple=True, metavar="SYSTEM.TABLE", help="An affected table (repeatable).")
@click.option("--system", "systems", multiple=True, metavar="NAME", help="Every personal table of a system.")
@click.option("--tenant", "tenants", multiple=True, metavar="KEY", help="Count only this tenant (repeatable).")
@click.option("--since", metavar="TIME", help="Count only rows from this time on (on each table's time column).")
@click.option("--until", metavar="TIME", help="Count only rows before this time.")
@click.option(
    "--time-column",
    "time_columns",
    multiple=True,
    metavar="SYSTEM.TABLE=COLUMN",
    help="The time column a window applies to (default: the table's retention 'after' column).",
)
@zone_option
@json_option("the incident")
@actor_option
def analyse_command(
    incident_id: int,
    state_url: str | None,
    map_path: Path,
    tables: tuple[str, ...],
    systems: tuple[str, ...],
    tenants: tuple[str, ...],
    since: str | None,
    until: str | None,
    time_columns: tuple[str, ...],
    zone: str | None,
    as_json: bool,
    actor: str,
) -> None:
    """Count what the breach affects (stage 2): people and records per table and tenant, from the live databases."""
    app = application(map_path, state_url, create=True)
    columns = dict(split_pair(item, "SYSTEM.TABLE=COLUMN", "--time-column") for item in time_columns)
    done = analyse_breach(
        app.store,
        app.loaded,
        incident_id,
        actor=actor,
        tables=tables,
        systems=systems,
        tenants=tenants,
        since=since,
        until=until,
        time_columns=columns,
        zone=zone,
        databases=app.databases,
    )
    if as_json:
        print_json(done.to_dict())
        return
    impact = done.impact or {}
    for row in impact.get("tables", []):
        people = "–" if row["people"] is None else f"{row['people']:,}"
        console.print(f"  {row['table']}: {row['records']:,} records, {people} people")
    for item in done.controllers:
        console.print(f"  controller {item['system']}:{item['tenant']} {item['name'] or ''}")
    special = ", ".join(impact.get("special", {})) or "none"
    console.print(
        f"incident {done.id}: about {impact.get('people', 0):,} people, {impact.get('records', 0):,} records; "
        f"special categories: {special}. Next: datavow incident classify {done.id}",
    )


@incident_group.command("classify")
@id_argument
@state_options
@click.option("--risk", type=click.Choice(RISKS), required=True, help="none, risk or high (to people's rights).")
@click.option("--reasoning", required=True, help="Why this risk level.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), required=True, help="The kind of breach.")
@click.option("--priority", type=click.Choice(PRIORITIES), help="Default: from the risk level.")
@click.option("--consequences", help="The likely consequences (Art. 33(3)(c)); required unless --risk none.")
@click.option("--measures", help="The measures taken or proposed (Art. 33(3)(d)); required unless --risk none.")
@click.option("--exemption", type=click.Choice(tuple(EXEMPTIONS)), help="An Art. 34(3) exemption (high risk only).")
@click.option("--exemption-reason", help="Why the exemption applies.")
@json_option("the incident")
@actor_option
def classify_command(
    incident_id: int,
    state_url: str | None,
    map_path: Path,
    risk: str,
    reasoning: str,
    kinds: tuple[str, ...],
    priority: str | None,
    consequences: str | None,
    measures: str | None,
    exemption: str | None,
    exemption_reason: str | None,
    as_json: bool,
    actor: str,
) -> None:
    """Prioritise and classify the breach (stage 3); says whether the authority and the people must be told."""
    app = application(map_path, state_url, create=True)
    store = app.store
    done = classify_incident(
        store,
        incident_id,
        risk=risk,
        reasoning=reasoning,
        kinds=kinds,
        priority=priority,
        consequences=consequences,
        measures=measures,
        exemption=exemption,
        exemption_reason=exemption_reason,
        actor=actor,
    )
    if as_json:
        print_json(done.to_dict())
        return
    authority = "must be told (Art. 33)" if done.notify_authority else "need not be told by you"
    people = "must be told (Art. 34)" if done.notify_people else "need not be told"
    console.print(f"incident {done.id}: {risk} risk; the authority {authority}; the people {people}.")


@incident_group.command("notify")
@id_argument
@state_options
@click.option("--to", "audience", type=click.Choice(("authority", "controllers", "people")), required=True)
@click.option("--tenant", "tenants", multiple=True, metavar="KEY", help="Only this controller (repeatable).")
@click.option(
    "--language",
    "language_code",
    help=f"One of {', '.join(LANGUAGES)} (default: the map's documents.language, else en).",
)
@click.option("--at", "given_text", metavar="TIME", help="When the notice was given (default: now).")
@zone_option
@click.option("--delay-reason", help="Why a late notice is late (required after the deadline, Art. 33(1)).")
@click.option("--more-to-follow", is_flag=True, help="A phased notice: more information follows (Art. 33(4)).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Folder for the documents.")
@click.option("--draft", is_flag=True, help="Write the documents without recording the notice as given.")
@json_option("the notices written")
@actor_option
def notify_command(
    incident_id: int,
    state_url: str | None,
    map_path: Path,
    audience: str,
    tenants: tuple[str, ...],
    language_code: str | None,
    given_text: str | None,
    zone: str | None,
    delay_reason: str | None,
    more_to_follow: bool,
    out_dir: Path | None,
    draft: bool,
    as_json: bool,
    actor: str,
) -> None:
    """Write the notices to the authority, to each affected controller, or to the people (HTML, PDF), and
    record them as given."""
    app = application(map_path, state_url, create=True)
    written = notify_breach(
        app.store,
        app.loaded,
        incident_id,
        audience,
        actor=actor,
        language=language_code,
        tenants=tenants,
        given=given_text,
        zone=zone,
        delay_reason=delay_reason,
        final=not more_to_follow,
        out_dir=out_dir,
        draft=draft,
    )
    if as_json:
        print_json([document.to_dict() for document in written])
        return
    for document in written:
        who = f"controller {document.system}:{document.tenant}" if document.tenant else document.audience
        late = " (late)" if document.late else ""
        console.print(f"{who}, notice {document.phase}{late}: {document.files['pdf']}")
    if draft:
        console.print("drafts only: nothing was recorded as given", style="dim")


@incident_group.command("resolve")
@id_argument
@state_options
@click.option("--resolution", required=True, help="What was done to resolve the breach.")
@json_option("the incident")
@actor_option
def resolve_command(
    incident_id: int, state_url: str | None, map_path: Path, resolution: str, as_json: bool, actor: str
) -> None:
    """Record the resolution (stage 4); refused until every required notice was given."""
    app = application(map_path, state_url, create=True)
    store = app.store
    done = resolve_incident(store, incident_id, resolution=resolution, actor=actor)
    _print(done, as_json, f"incident {done.id} resolved; evaluate it with: datavow incident close {done.id}")


@incident_group.command("close")
@id_argument
@state_options
@click.option("--lessons", required=True, help="What was learnt.")
@click.option("--changes", required=True, help="What changes in the procedure ('none', and why, if nothing).")
@json_option("the incident")
@actor_option
def close_command(
    incident_id: int, state_url: str | None, map_path: Path, lessons: str, changes: str, as_json: bool, actor: str
) -> None:
    """Evaluate the incident and revise the procedure (stage 5): the incident is closed."""
    app = application(map_path, state_url, create=True)
    store = app.store
    done = close_incident(store, incident_id, lessons=lessons, procedure_changes=changes, actor=actor)
    _print(done, as_json, f"incident {done.id} evaluated and closed")


@incident_group.command("list")
@state_options
@click.option("--open", "open_only", is_flag=True, help="Only incidents not yet evaluated.")
@json_option("the incidents with their clocks")
def list_command(state_url: str | None, map_path: Path, open_only: bool, as_json: bool) -> None:
    """Every incident, newest first; overdue and due-soon clocks stand out."""
    now = datetime.now(UTC)
    app = application(map_path, state_url, create=False)
    store = app.store
    found = list_incidents(store, open_only=open_only)
    if as_json:
        print_json([incident.to_dict(now) for incident in found])
        return
    table = Table(title="incidents", title_justify="left")
    for column in ("id", "title", "stage", "risk", "aware", f"authority ({AUTHORITY_HOURS} h)", "controllers"):
        table.add_column(column)
    for incident in found:
        authority = incident.authority_clock(now)
        due = f"{shown(authority.due_at, incident.zone)} {authority.status.replace('_', ' ').upper()}"
        controllers = [c for _, c in incident.controller_clocks(now)]
        told = sum(c.status.startswith("done") for c in controllers)
        worst = next((s for s in ("overdue", "due_soon") if any(c.status == s for c in controllers)), None)
        ctext = f"{told}/{len(controllers)} told" + (f" {worst.replace('_', ' ').upper()}" if worst else "")
        table.add_row(
            str(incident.id),
            incident.title,
            incident.stage,
            incident.risk or "",
            shown(incident.aware_at, incident.zone),
            Text(due, _STYLE.get(authority.status, "")),
            Text(ctext, _STYLE[worst]) if worst else (ctext if controllers else ""),
        )
    console.print(table)


@incident_group.command("show")
@id_argument
@state_options
@json_option("the incident")
def show_command(incident_id: int, state_url: str | None, map_path: Path, as_json: bool) -> None:
    """One incident: every stage's facts, its clocks and its notices."""
    app = application(map_path, state_url, create=False)
    store = app.store
    found = get_incident(store, incident_id)
    if as_json:
        print_json(found.to_dict())
        return
    facts = found.to_dict()
    for key in ("title", "description", "stage", "risk", "risk_reasoning", "consequences", "measures", "resolution"):
        if facts[key]:
            console.print(f"{key}: {facts[key]}")
    console.print(f"aware: {shown(found.aware_at, found.zone)}")
    authority = found.authority_clock(datetime.now(UTC))
    console.print(f"authority: due {shown(authority.due_at, found.zone)}, {authority.status}")
    for notice in found.notices:
        who = f"controller {notice.system}:{notice.tenant}" if notice.tenant else notice.audience
        late = f" LATE: {notice.delay_reason}" if notice.late else ""
        console.print(f"notice to {who}, phase {notice.phase}: {shown(notice.given_at, found.zone)}{late}")


@incident_group.command("export")
@state_options
@click.option("--csv", "csv_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the register as CSV.")
@click.option("--pdf", "pdf_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the register as PDF.")
@click.option(
    "--language", "language_code", help="The PDF's language (default: the map's documents.language, else en)."
)
@actor_option
def export_command(
    state_url: str | None,
    map_path: Path,
    csv_path: Path | None,
    pdf_path: Path | None,
    language_code: str | None,
    actor: str,
) -> None:
    """Export the register of breaches (Art. 33(5)) as CSV and/or PDF."""
    if csv_path is None and pdf_path is None:
        raise click.UsageError("give --csv FILE, --pdf FILE or both")
    app = application(map_path, state_url, create=False)
    written = export_breach_register(
        app.store, app.loaded, actor=actor, csv_path=csv_path, pdf_path=pdf_path, language=language_code
    )
    for path in written:
        console.print(str(path))


def _print(incident: Incident, as_json: bool, message: str) -> None:
    if as_json:
        print_json(incident.to_dict())
    else:
        console.print(message)
