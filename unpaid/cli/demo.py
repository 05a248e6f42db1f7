"""``unpaid demo``: a sample shop in a folder, synced, deduplicated and listed — no account, no network.

The demo runs the real commands (``sync``, ``dedupe --apply``, ``orders``) against a config it
writes, so what it prints is exactly what they print on a real shop. With ``--source TYPE`` the
shop is served by that connector's emulator (a loopback server that behaves like the real API),
started for the length of the demo.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import click

from unpaid.cli.answer import answer, wants_json
from unpaid.cli.options import format_option
from unpaid.i18n import N_, _, lookup, ngettext

if TYPE_CHECKING:
    from unpaid.cli.context import App
    from datetime import datetime

DEMO_ZONE = "Europe/Moscow"
CONFIG = """\
# The sample shop written by `unpaid demo`. Try the commands below with --config {config}
timezone = "{zone}"
default_country = "7"
db = "{db}"
cancel_reasons = {reasons}

[sources.shop]
type = "{type}"
{settings}

{playbook}"""
#: Bundled playbook template files, and the names the demo's playbook knows them by.
TEMPLATES = {"demo_reminder.txt": "reminder.txt", "demo_offer.txt": "offer.txt"}

ACTIONS = {"false": N_("False"), "keep": N_("kept"), "skip": N_("left alone")}
#: The dedupe reasons the sample shop gives, spelled again in the active language for the tour's short lines
#: (the reason itself stays English in the command's JSON).
REASONS = (
    (re.compile(r"paid twin (?P<twin>\S+)"), N_("paid twin {twin}")),
    (re.compile(r"duplicate of (?P<keep>\S+) \(kept the newest\)"), N_("duplicate of {keep} (kept the newest)")),
    (re.compile(r"kept the newest of (?P<n>\d+) actual orders"), None),
)


def _step(app: "App", title: str) -> None:
    if not app.quiet:
        click.echo(click.style(f"\n== {title}", bold=True), file=app.stderr)


def _run(demo: "App", name: str, args: list[str]) -> int:
    """Run one real command as a subcommand of this one, with the demo's App; return its exit code."""
    from unpaid.cli import cli

    parent = click.get_current_context()
    command = cli.get_command(parent, name)
    # A child context inherits the root's settings (-h, the UNPAID_ env prefix) as a real invocation would.
    with command.make_context(name, list(args), parent=parent) as ctx:
        ctx.obj = demo
        try:
            command.invoke(ctx)
        except click.exceptions.Exit as exc:
            return int(exc.exit_code)
    return 0


@click.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Build the shop in this folder [default: a new temporary folder].")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="State database [default: unpaid.db in the shop's folder].")
@click.option("--source", "source_type", default="csv", show_default=True, metavar="csv|TYPE",
              help="Serve the sample shop from a CSV file, or from the emulator of a connector TYPE "
                   "(getcourse, autoweboffice: any installed connector that ships one).")
@format_option
@click.pass_obj
def demo(app: "App", folder: Path | None, db: Path | None, source_type: str, fmt: str):
    """Build a sample shop, sync it, dedupe it and show today's work.

    Copies the bundled export of 400 orders from ~160 customers (moved forward so the newest
    are from today) into a folder with its own unpaid.toml, then runs `unpaid sync`,
    `unpaid dedupe --apply` (orders with a paid twin or a newer duplicate become False),
    `unpaid orders`, then `unpaid plan` and `unpaid run` of a small reminder playbook whose
    messages go to an outbox folder. Nothing outside that folder is touched; no account or
    network is needed.

    \b
    Examples:
      unpaid demo
      unpaid demo --dir ./shop && cd shop && unpaid orders --all
      unpaid --now 2026-11-24T10:00 demo
      unpaid demo --source getcourse   # the same commands against the GetCourse emulator
    """
    from unpaid.cli.context import App
    from unpaid.errors import InputError

    spec = app.plugins.connector_spec(source_type)  # fails early, with the install command, when it is missing
    if source_type != "csv" and not spec.emulator:
        raise InputError(_("--source {type}: the connector ships no emulator to serve a sample shop")
                         .format(type=source_type),
                         _("use --source csv, or a connector listed with an emulator by `unpaid plugins`"))
    folder = folder or Path(tempfile.mkdtemp(prefix="unpaid-demo-"))
    config = folder / "unpaid.toml"
    if config.exists():
        raise InputError(_("{folder} already holds a shop (unpaid.toml)").format(folder=folder),
                         _("pass another --dir, or remove that folder"))
    folder.mkdir(parents=True, exist_ok=True)
    db_path = (db or folder / "unpaid.db").resolve()
    from datetime import datetime, timezone

    now_option = app.now_option or _daytime(datetime.now(timezone.utc))
    if now_option and not app.now_option:
        app.info(_("(night in the sample shop: the tour runs at noon, --now {now}, so the letters go out)")
                 .format(now=now_option[:16]))
    with _served(app, spec, folder, now_option) as (settings, where):
        config.write_text(CONFIG.format(config=config, db=db_path.as_posix(), type=source_type, zone=DEMO_ZONE,
                                        reasons=_toml_list(_cancel_reasons()),
                                        settings=_toml_table(settings), playbook=_playbook(folder)),
                          encoding="utf-8")
        # Asked for JSON, the tour's tables go to stderr: stdout carries the one answer below.
        shop = App(config=str(config), db=str(db_path), now=now_option, fmt="table", verbose=app.verbose,
                   quiet=app.quiet, stdout=app.stderr if wants_json(fmt) else app.stdout, stderr=app.stderr)
        try:
            total, newest, codes = _tour(app, shop, where, source_type)
        finally:
            shop.close()
    app.info("\n" + ngettext("{n} actual unpaid order needs work. Next, in {folder}:",
                             "{n} actual unpaid orders need work. Next, in {folder}:", total)
             .format(n=total, folder=folder))
    lines = [f"cd {folder}", "unpaid orders --page 2              # " + _("the next page"),
             f"unpaid show {newest}             # " + _("one order, the customer's others, history"),
             "unpaid plan --until 3d             # " + _("what the playbook will do over three days"),
             "ls outbox                          # " + _("the messages `unpaid run` wrote"),
             "unpaid orders --all --format json   # " + _("everything, for scripts")]
    if source_type == "csv":  # a status change reaches the source: the emulator and its keys are gone by now
        lines.append(f'unpaid status {newest} cancelled --reason "{_cancel_reasons()[1]}"')
    for line in lines:
        app.info(f"  {line}")
    if source_type != "csv":
        app.info("  " + _("(the {type} emulator stopped with the demo: the store keeps what it served; "
                          "commands that reach the source need it running, see docs/connectors/{type}.md)")
                 .format(type=source_type))
    worst = max(codes)
    answer(app, fmt, {"folder": str(folder), "config": str(config), "db": str(db_path), "actual_unpaid": total,
                      "newest": newest, "exit": worst})
    if worst:
        click.get_current_context().exit(worst)


def _daytime(real: datetime) -> str | None:
    """The tour's clock: None (now), or — at night in the shop, when the playbook's letters would only wait
    for the morning and the outbox stay empty — today's (or yesterday's) noon; the orders move to match."""
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    local = real.astimezone(ZoneInfo(DEMO_ZONE))
    if time(9) <= local.time() < time(21):  # the demo playbook's window
        return None
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return (noon if noon <= local else noon - timedelta(days=1)).isoformat()


@contextlib.contextmanager
def _served(app: "App", spec: Any, folder: Path, now_option: str | None) -> Iterator[tuple[dict[str, Any], str]]:
    """Serve the shop for the demo: the bundled CSV copied into ``folder``, or the connector's emulator.

    Yields the source's settings and a description of where the orders come from. An emulator's keys
    are put in the secret environment variables for the length of the demo only.
    """
    from unpaid.demo import copy_shifted
    from unpaid.secrets import env_var

    from unpaid.clock import Clock

    moment = Clock.from_option(now_option, app.zone).now() if now_option else app.now()
    if spec.emulator is None or spec.name == "csv":
        count = copy_shifted(folder / "orders.csv", moment)
        yield {"path": "orders.csv"}, ngettext("{n} order in {path}", "{n} orders in {path}", count).format(
            n=count, path=folder / "orders.csv")
        return
    from unpaid.emulators import start_emulator

    emulator = start_emulator(spec, moment)
    secrets = {env_var("shop", k): v for k, v in emulator.secrets().items()}
    saved = {k: os.environ.get(k) for k in secrets}
    os.environ.update(secrets)
    try:
        settings = {k: v for k, v in emulator.source_settings().items() if k != "type"}
        yield settings, _("the {type} emulator on {url}").format(type=spec.name, url=emulator.base_url)
    finally:
        emulator.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _cancel_reasons() -> list[str]:
    """The usual cancel reasons in the tour's language: the shop's managers pick them in their words."""
    return [_("Too expensive"), _("Changed mind"), _("Bought elsewhere"), _("No money now"),
            _("Created by mistake"), _("Not reachable"), _("Expired")]


def _toml_list(items: list[str]) -> str:
    import json

    return "[" + ", ".join(json.dumps(item, ensure_ascii=False) for item in items) + "]"


def _toml_table(settings: dict[str, Any]) -> str:
    # json.dumps of a str, int or list of them is valid TOML too.
    return "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in settings.items())


def _tour(app: "App", shop: "App", where: str, source_type: str) -> tuple[int, str, list[int]]:
    """The real commands, each under a heading; returns today's count, the newest order and the exit codes."""
    _step(app, _("A sample shop: {where} (source `shop`, type {type})").format(where=where, type=source_type))
    _step(app, "unpaid sync — " + _("pull the orders into the store"))
    codes = [_run(shop, "sync", [])]
    if codes[0]:
        click.get_current_context().exit(codes[0])
    _step(app, "unpaid dedupe --apply — " + _("paid twins and older duplicates become False"))
    codes.append(_dedupe(app, shop))
    _step(app, "unpaid orders — " + _("what needs work today: actual unpaid orders, newest first"))
    codes.append(_run(shop, "orders", ["--limit", "15"]))
    _step(app, "unpaid plan — " + _("what the playbook `reminders` would do now, and why"))
    codes.append(_run(shop, "plan", ["--limit", "10"]))
    _step(app, "unpaid run — " + _("carry out what is due, exactly once (messages go to the outbox folder)"))
    codes.append(_run(shop, "run", ["--limit", "10"]))
    total, newest = _today(shop)
    return total, newest, codes


def _playbook(folder: Path) -> str:
    """The bundled demo playbook for the config, with its templates copied beside it."""
    data = Path(__file__).resolve().parent.parent / "data"
    (folder / "templates").mkdir(exist_ok=True)
    for bundled, name in TEMPLATES.items():
        shutil.copyfile(data / bundled, folder / "templates" / name)
    return (data / "demo_playbook.toml").read_text(encoding="utf-8")


def _dedupe(app: "App", shop: "App") -> int:
    """Run the real `dedupe --apply`, printing each decision on one short line instead of its wide table."""
    import io
    import json

    out, err = io.StringIO(), io.StringIO()
    tables, notes = shop.stdout, shop.stderr  # asked for JSON, the tour's tables go to stderr
    shop.stdout, shop.stderr = out, err
    try:
        code = _run(shop, "dedupe", ["--apply", "--format", "jsonl"])
    finally:
        shop.stdout, shop.stderr = tables, notes
    for row in map(json.loads, out.getvalue().splitlines()):
        who = row["customer"]["name"] or row["customer"]["key"] or ""
        result = f"  [{row['result']}]" if row.get("result") not in (None, "done") else ""
        action = ACTIONS.get(row["action"])
        click.echo(f"{row['id']:<13} {lookup(row['status_label']):<20} → {_(action) if action else row['action']}: "
                   f"{_reason(row['reason'])} — {who}{result}", file=tables)
    tables.flush()
    notes.write(err.getvalue())  # the command's summary, after the decisions it sums up
    return code


def _reason(text: str) -> str:
    """A dedupe reason in the active language: a fixed one from the catalog, the sample shop's usual ones
    spelled again; any other as the command gave it."""
    for pattern, message in REASONS:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        if message is None:
            n = int(found["n"])
            # English keeps "orders" for one: the forms are for languages that need them
            return ngettext("kept the newest of {n} actual orders", "kept the newest of {n} actual orders",
                            n).format(n=n)
        return _(message).format(**found.groupdict())
    return lookup(text)


def _today(shop: "App") -> tuple[int, str]:
    """How many actual orders there are, and the newest one's id (for the hints)."""
    from unpaid.store.orders import OrderQuery

    query = OrderQuery()  # the actual statuses, newest first: the same default as `unpaid orders`
    newest = next(iter(shop.store.orders.query(query, limit=1)), None)
    return shop.store.orders.count(query), newest.id if newest else "shop:ID"
