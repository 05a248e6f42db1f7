"""The managers' desk: ``queue``, ``take``, ``next``, ``release``, ``outcome``, ``postpone``, ``comment``,
``edit`` and ``send``. Parsing and printing only; the work is in :mod:`unpaid.desk`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from unpaid.cli.answer import answer, wants_json
from unpaid.cli.options import DAYS, MAX_DAYS, PAGE, TEXT, format_option
from unpaid.cli.orders import find_order
from unpaid.errors import ExitCode, InputError
from unpaid.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from unpaid.cli.context import App
    from unpaid.desk.settings import DeskSettings
    from unpaid.model import Order

SORT_KEYS = ("newest", "oldest", "due", "amount")


def manager_option(required: bool = True):
    return click.option("--manager", "-m", metavar="NAME", envvar="UNPAID_MANAGER", show_envvar=True,
                        type=TEXT, required=False,
                        help=N_("Who is working (required).") if required else N_("Who is working."))


def need(manager: str | None) -> str:
    if not manager or not manager.strip():
        raise InputError(_("--manager is missing: whose work is this?"),
                         _("pass --manager NAME or set UNPAID_MANAGER"))
    return manager.strip()


def settings(app: "App") -> "DeskSettings":
    from unpaid.desk.settings import parse_desk

    return parse_desk(app.config.raw.get("desk"), app.config.where, app.config.timezone, app.config.calendar)


def when(app: "App", text: str | None, option: str):
    """A user-entered moment (``18:30`` is today, in the config's zone); InputError naming the option."""
    if text is None:
        return None
    from unpaid.clock import parse_when

    raw = text.strip()
    if len(raw) <= 5 and ":" in raw:  # a bare time of day means today
        raw = f"{app.now().astimezone(app.zone):%Y-%m-%d}T{raw.zfill(5)}"
    try:
        return parse_when(raw, app.zone, app.now())
    except ValueError as exc:
        raise InputError("{option}: {error}".format(option=option, error=exc),
                         _("e.g. {option} 2026-11-25T10:00, {option} tomorrow or +2d").format(option=option)) from None


def command_line(*parts: Any) -> str:
    return "unpaid " + " ".join(str(p) for p in parts if p is not None)


def connector_for(app: "App", order: "Order"):
    from unpaid.errors import ConfigError

    try:
        return app.connector(order.source)
    except ConfigError as exc:
        raise ConfigError(_("cannot reach the source of {order}: {error}").format(order=order.id, error=exc.message),
                          exc.fix) from None


def money_human(value: dict[str, Any] | None) -> str:
    """An amount record as people read it in the active language (``12 900,00 ₽``)."""
    from unpaid.model import Money

    return Money(value["minor"], value["currency"]).human() if value else ""


def offer_text(offer: dict[str, Any] | None, none: str = "") -> str:
    """An offer as people read it: ``25% discount``, ``25% скидка``."""
    if not offer:
        return none
    if offer["kind"] == "bonus":
        return _("{percent}% bonus").format(percent=offer["percent"])
    if offer["kind"] == "discount":
        return _("{percent}% discount").format(percent=offer["percent"])
    return "{percent}% {kind}".format(percent=offer["percent"], kind=offer["kind"])


def queue_columns(app: "App"):
    from unpaid.clock import from_iso
    from unpaid.output import Column

    def cut(text, n=40):
        text = (text or "").replace("\n", " ")
        return text if len(text) <= n else text[: n - 1] + "…"

    return [
        Column("position", "#"),
        Column("order_id", N_("order")),
        Column("created_at", N_("created"), lambda v: app.local(from_iso(v))),
        Column("name", N_("customer")),
        Column("phone", N_("phone")),
        Column("total", N_("amount"), money_human),
        Column("offer", N_("offer"), offer_text),
        Column("attempts", N_("attempts")),
        Column("last_comment", N_("last comment"), cut),
        Column("script", N_("script"), cut),
    ]


@click.command()
@manager_option(required=False)
@click.option("--date", "day", metavar="DATE", help="Plan ahead: what is due by the end of DATE.")
@click.option("--sort", type=click.Choice(SORT_KEYS), default="newest", show_default=True, help="Row order.")
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="Rows per page [default: [desk] page_size, 20].")
@click.option("--page", type=PAGE, default=1, show_default=True, help="Page number.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default=None,
              help="Output format [default: the global --format, else table].")
@click.pass_obj
def queue(app, manager, day, sort, limit, page, fmt):
    """Today's calls: orders whose call is due, that nobody else holds, newest first.

    The first line (stderr) counts every order to call today; each row has the phone, the offer on
    the table, the calls so far, the last comment and the script of the current step.

    \b
    Examples:
      unpaid queue --manager anna --limit 100
      unpaid queue --sort due --format json | jq '.[0].phone'
      unpaid queue --date tomorrow
    """
    from unpaid.desk.claiming import load_queue
    from unpaid.output import render

    s, now, fmt = settings(app), app.now(), fmt or app.format
    limit = limit or s.page_size
    view = load_queue(app.store, now, app.zone, manager=manager, day=when(app, day, "--date"), sort=sort,
                      limit=limit, offset=(page - 1) * limit)
    if view.rows:
        app.info(ngettext("Today: {n} order to call; {due} due now; showing {first}–{last}",
                          "Today: {n} orders to call; {due} due now; showing {first}–{last}", view.today).format(
            n=view.today, due=view.due_now, first=(page - 1) * limit + 1, last=(page - 1) * limit + len(view.rows)))
    else:
        app.info(ngettext("Today: {n} order to call; {due} due now", "Today: {n} orders to call; {due} due now",
                          view.today).format(n=view.today, due=view.due_now))
    render(view.rows, fmt, app.stdout, queue_columns(app))


def paid_twins(app: "App", order: "Order") -> list[str]:
    """Warnings for the card: the customer already paid for this product (a paid twin, as `dedupe` sees it)."""
    from unpaid.dedupe import relation

    if not order.customer.key:
        return []
    return [(_("the customer already paid for this product: {order} (paid {when}) — ask before you offer; if "
               "this order repeats that one, record `duplicate`") if o.paid_at else
             _("the customer already paid for this product: {order} — ask before you offer; if this order repeats "
               "that one, record `duplicate`")).format(order=o.id, when=app.local(o.paid_at))
            for o in app.store.orders.by_customer([order.customer.key])
            if relation(order, o, app.config.same_product_within) == "paid twin"]


def show_card(app: "App", order: "Order", claim, fmt: str | None = None,
              manager_note: str | None = N_("the source was not asked")) -> None:
    """The order as a manager needs it for the call."""
    from unpaid.desk import queue as q
    from unpaid.desk.claiming import MANAGER_NOTE, MANAGER_SET
    from unpaid.output import render_one
    from unpaid.store.desk import DeskStore
    from unpaid.store.offers import Offers
    from unpaid.store.tasks import Task

    store, now = app.store, app.now()
    desk = DeskStore(store)
    task = desk.open_task(order.id) or Task(0, "", order.id, "", "", now, "", "open", 0, None, None, now, None)
    row = q.row(task, order, claim, Offers(store).active(order.id, now), desk.stats([order.id])[order.id])
    row["held_until"] = app.local(claim.lease_until)
    row["paid_twin"] = paid_twin(app, order)
    row["manager"] = order.manager
    row["warnings"] = paid_twins(app, order)
    row["notes"] = [_(MANAGER_SET).format(manager=claim.manager) if manager_note is None
                    else _(MANAGER_NOTE).format(manager=claim.manager, why=_(manager_note))]
    if wants_json(fmt or app.format):
        render_one(row, fmt or app.format, app.stdout)
        return
    # The card's keys are English literals looked up in the catalog by render_one.
    render_one({k: v for k, v in {
        N_("warning"): "; ".join(row["warnings"]),
        N_("order"): order.id + (f"  #{order.number}" if order.number else ""),
        N_("customer"): row["name"], N_("phone"): row["phone"], N_("e-mail"): row["email"],
        N_("product"): row["product"], N_("amount"): money_human(row["total"]), N_("status"): row["status_label"],
        N_("offer"): offer_text(row["offer"], _("none")),
        N_("calls so far"): row["calls"], N_("messages"): row["messages"], N_("last comment"): row["last_comment"],
        N_("held by"): _("{manager} until {until}").format(manager=claim.manager, until=row["held_until"]),
        N_("script"): row["script"], N_("note"): "; ".join(row["notes"]),
    }.items() if v not in (None, "")}, "table", app.stdout)


def paid_twin(app: "App", order: "Order") -> str | None:
    """The customer's paid order of the same purchase (dedupe's rule), so the manager does not ask twice."""
    from unpaid.store.twins import paid_twins

    found = paid_twins(app.store, [(order.id, order.customer.key, order.product_key, order.created_at)],
                       app.config.same_product_within)
    return found.get(order.id)


def take_and_mark(app: "App", order: "Order", claim, new: bool, fmt: str | None = None) -> None:
    """Set In work at the source (undoing the claim if the source fails), then record the take."""
    from unpaid.actions import change_status
    from unpaid.connector import Capability
    from unpaid.desk.claiming import record_take
    from unpaid.model import Status

    now, cmd = app.now(), command_line("take", order.id, "--manager", claim.manager)
    why_not = N_("the source was not asked: the order was taken before")
    if order.status is not Status.IN_WORK or new:
        try:
            connector = connector_for(app, order)
            with connector:
                if order.status is not Status.IN_WORK and Capability.PUSH_STATUS not in connector.spec.capabilities:
                    app.warn(_("the source of {order} cannot change statuses; it stays {status} there").format(
                        order=order.id, status=order.status.label))
                elif order.status is not Status.IN_WORK:
                    change_status(app.store, connector, order, Status.IN_WORK, actor=f"manager:{claim.manager}",
                                  now=now, playbook="desk", command=cmd)
                why_not = _set_manager(app, connector, order, claim.manager) if new else why_not
        except BaseException:
            # No card was shown: a claim left behind would hide the order from every queue for the lease. This
            # covers the source refusing In work, and also a source missing from the config or its secret.
            if new:
                app.store.claims.release(order.id, claim.manager)
            raise
    if new:
        record_take(app.store, claim, now, app.zone, cmd, at_source=why_not is None)
    show_card(app, app.store.orders.get(order.id), claim, fmt, manager_note=why_not)


def _set_manager(app: "App", connector, order: "Order", manager: str) -> str | None:
    """Make the manager the order's manager at the source; None when done, else why not (the take stands)."""
    from unpaid.connector import Capability, ConnectorError

    if Capability.SET_MANAGER not in connector.spec.capabilities:
        return N_("its connector cannot set it")
    try:
        connector.set_manager(order.native_id, manager)
    except ConnectorError as exc:  # the call can go ahead; the source's field is a courtesy, said plainly
        app.warn(_("{order}: the manager was not set at the source: {error}").format(order=order.id, error=exc))
        return _("the source refused: {error}").format(error=exc)
    return None


@click.command()
@click.argument("order_ref", metavar="ORDER")
@manager_option()
@format_option
@click.pass_obj
def take(app, order_ref, manager, fmt):
    """Take ORDER: it is yours for [desk] lease (2h) and In work in the source.

    Someone else holding it is an error naming them (exit 1); an expired lease frees the order.

    \b
    Example:
      unpaid take shop:1042 --manager anna
    """
    from unpaid.desk.claiming import take as claim_order

    manager = need(manager)
    order = find_order(app, order_ref)
    claim, new = claim_order(app.store, order, manager, app.now(), settings(app), app.zone)
    take_and_mark(app, order, claim, new, fmt)


@click.command("next")
@manager_option()
@click.option("--sort", type=click.Choice(SORT_KEYS), default="newest", show_default=True, help="Queue order.")
@format_option
@click.pass_obj
def next_(app, manager, sort, fmt):
    """Take the top of your queue: the first due order nobody else holds.

    \b
    Example:
      unpaid next --manager anna
    """
    from unpaid.desk.claiming import take_next

    manager = need(manager)
    claim = take_next(app.store, manager, app.now(), settings(app), app.zone, sort)
    take_and_mark(app, app.store.orders.get(claim.order_id), claim, True, fmt)


@click.command()
@click.argument("order_ref", metavar="ORDER")
@manager_option(required=False)
@format_option
@click.pass_obj
def release(app, order_ref, manager, fmt):
    """Give ORDER back to the queue (only your own claim when --manager is given)."""
    from unpaid.desk.claiming import release as give_back

    order = find_order(app, order_ref)
    actor = f"manager:{manager}" if manager else app.actor
    released = give_back(app.store, order, manager, app.now(), actor, command_line("release", order.id))
    answer(app, fmt, {"order_id": order.id, "released": released},
           _("{order}: released").format(order=order.id) if released else None)
    if not released:
        app.info(_("{order} was not taken; nothing to do").format(order=order.id))


def echo_done(app: "App", fmt: str | None, order_id: str, done, **extra: Any) -> None:
    """Print what a desk action did: its summary line, or one JSON object; notes are warnings either way."""
    answer(app, fmt, {"order_id": order_id, "summary": done.summary, "notes": list(done.notes), **extra},
           done.summary)
    for line in done.notes:
        app.warn(line)



@click.command()
@click.argument("order_ref", metavar="ORDER")
@click.argument("outcome_text", metavar="OUTCOME")
@manager_option()
@click.option("--at", metavar="TIME", help="callback: when to call back (18:30, 2026-11-25T10:00, +2h).")
@click.option("--on", "on", metavar="DATE", help="promised: the day the customer will pay.")
@click.option("--call-on", metavar="TIME", help="promised: when to call if unpaid [default: a day after --on].")
@click.option("--days", type=DAYS,
              help="thinking / installments / says_paid / wrong_number: call again after N days.")
@click.option("--reason", metavar="REASON", type=TEXT, help="refused: one of the config's cancel_reasons (required).")
@click.option("--comment", metavar="TEXT", type=TEXT, help="What was said, kept with the call.")
@click.option("--force", is_flag=True, help="promised: allow a follow-up later than [desk] promise_cap.")
@format_option
@click.pass_obj
def outcome(app, order_ref, outcome_text, manager, at, on, call_on, days, reason, comment, force, fmt):
    """Record the result of a call on ORDER, and set up what follows.

    \b
    OUTCOME is one of:
      no_answer, voicemail  call again later today, then tomorrow; after [desk] attempts: message, Not confirmed
      callback --at TIME    call back then
      promised --on DATE    Waiting for payment; playbooks paused until DATE; a call after it if unpaid
      thinking [--days N]   call again in [desk] thinking (2d)
      installments [--days N]  call again in [desk] installments (1d); the installments message if set up
      says_paid             ask for proof of payment; check again in 2 days
      wrong_number, no_phone  ask for a phone by e-mail; check again in 2 days
      refused --reason R    Cancelled with the reason
      duplicate, mistake    False

    \b
    Examples:
      unpaid outcome shop:1042 no_answer --manager anna
      unpaid outcome shop:1042 promised --on 2026-11-27 --comment "salary on Friday" -m anna
      unpaid outcome shop:1042 refused --reason "Too expensive" -m anna
    """
    from unpaid.desk.rules import OutcomeOptions
    from unpaid.desk.work import record_outcome

    manager = need(manager)
    on_day = when(app, on, "--on")
    opts = OutcomeOptions(at=when(app, at, "--at"), on=on_day.astimezone(app.zone).date() if on_day else None,
                          call_on=when(app, call_on, "--call-on"), days=days, reason=reason, comment=comment,
                          force=force)
    order, s, now = find_order(app, order_ref), settings(app), app.now()
    cmd = command_line("outcome", order.id, outcome_text, "--manager", manager)
    connectors: list = []

    def connector():  # opened once, on first use: a plain outcome on a CSV shop needs none
        if not connectors:
            connectors.append(connector_for(app, order))
        return connectors[0]

    try:
        done = record_outcome(app.store, connector, order, manager, outcome_text, opts, now, s, app.zone,
                              app.config.cancel_reasons, cmd)
    finally:
        for c in connectors:
            c.close()
    from unpaid.desk.send import channels_for

    failed, sent = False, []
    if not wants_json(fmt):
        click.echo(done.summary, file=app.stdout)
    for purpose in done.plan.send:
        if not set_up(app, s, purpose):
            app.info(_("{order}: no {purpose} message sent: create {template}.txt in the templates folder to "
                       "send one").format(order=order.id, purpose=purpose, template=s.templates[purpose]))
            continue
        channels = channels_for(app.config, app.plugins, purpose)
        if not channels:
            app.warn(_("{order}: message {template!r} not sent: no channel other than the phone is "
                       "configured").format(order=order.id, template=s.templates[purpose]))
            failed = True
        for channel in channels:
            line = send_quietly(app, s, order.id, s.templates[purpose], manager, cmd, channel)
            failed |= line is None
            if line is not None:
                sent.append(line)
                if not wants_json(fmt):
                    click.echo(line, file=app.stdout)
    if wants_json(fmt):
        echo_done(app, fmt, order.id, done, outcome=done.plan.outcome, sent=sent, failed=failed)
    else:
        for line in done.notes:
            app.warn(line)
    if failed:
        click.get_current_context().exit(ExitCode.FAILED)


def set_up(app: "App", s: "DeskSettings", purpose: str) -> bool:
    """Whether to send an outcome's message: always, except an optional one (installments) that has neither
    a template file nor a name in ``[desk.templates]``; a named one that is missing is a warning as usual."""
    from unpaid.desk.send import templates_dir
    from unpaid.desk.settings import OPTIONAL_PURPOSES

    if purpose not in OPTIONAL_PURPOSES or purpose in (app.config.raw.get("desk") or {}).get("templates", {}):
        return True
    return (templates_dir(app.config) / f"{s.templates[purpose]}.txt").is_file()


def send_quietly(app: "App", s: "DeskSettings", order_id: str, template: str, manager: str, cmd: str,
                 channel: str | None = None) -> str | None:
    """Send a message an outcome calls for: the line saying so, or None after a warning when it cannot go."""
    from unpaid.channel import ChannelError, Delivery
    from unpaid.desk import send as sending
    from unpaid.errors import UnpaidError

    order = app.store.orders.get(order_id)
    try:
        prepared = sending.prepare(app.store, app.config, app.plugins, s, order, template, channel, None)
        sent = sending.send(app.store, app.config, app.plugins, s, order, prepared, actor=f"manager:{manager}",
                            now=app.now(), command=cmd)
    except (UnpaidError, ChannelError) as exc:
        unknown = getattr(exc, "outcome", None) is Delivery.UNKNOWN
        app.warn((_("{order}: message {template!r} may have been sent, held for review (`unpaid review`): {error}")
                  if unknown else _("{order}: message {template!r} not sent: {error}")).format(
            order=order_id, template=template, error=exc))
        return None
    return _("{order}: sent {template} via {channel} to {to}").format(order=order_id, template=template,
                                                                     channel=sent["channel"], to=sent["to"])


@click.command()
@click.argument("order_ref", metavar="ORDER")
@manager_option()
@click.option("--days", type=click.IntRange(1, MAX_DAYS), help="Call again after N days [default: [desk] postpone, 7d].")
@click.option("--until", metavar="DATE", help="Call again on DATE.")
@click.option("--force", is_flag=True, help="Allow more than [desk] promise_cap after a promised day.")
@format_option
@click.pass_obj
def postpone(app, order_ref, manager, days, until, force, fmt):
    """Move ORDER's next call (e.g. 2-3 days when the customer is thinking it over).

    After a promise the next call may be at most [desk] promise_cap (3 days) past the promised day.
    """
    from datetime import timedelta

    from unpaid.clock import to_iso
    from unpaid.desk.rules import working_time
    from unpaid.desk.work import postpone as move

    manager = need(manager)
    if days is not None and until is not None:
        raise InputError(_("give either --days or --until, not both"), _("drop one of them"))
    s, now, order = settings(app), app.now(), find_order(app, order_ref)
    target = when(app, until, "--until") if until else now + (timedelta(days=days) if days else s.postpone)
    if target > now:  # a past target is refused as it was given
        target, why = working_time(target, s, app.zone)
    else:
        why = ""
    done = move(app.store, order, manager, target, now, s, app.zone, force,
                command_line("postpone", order.id, "--manager", manager))
    if why:
        done.notes.append(why.strip(" ()"))
    echo_done(app, fmt, order.id, done, until=to_iso(target))


@click.command()
@click.argument("order_ref", metavar="ORDER")
@click.argument("text", type=TEXT)
@manager_option()
@format_option
@click.pass_obj
def comment(app, order_ref, text, manager, fmt):
    """Add a comment to ORDER (also in the source, when it takes comments)."""
    from unpaid.desk.work import comment as add

    manager = need(manager)
    order = find_order(app, order_ref)
    with connector_for(app, order) as connector:
        echo_done(app, fmt, order.id, add(app.store, connector, order, manager, text, app.now(),
                                          command_line("comment", order.id, "--manager", manager)))


@click.command()
@click.argument("order_ref", metavar="ORDER")
@manager_option()
@click.option("--phone", metavar="PHONE", type=TEXT,
              help="New phone; normalized to +E.164 with the config's default_country.")
@click.option("--email", metavar="EMAIL", type=TEXT, help="New e-mail.")
@click.option("--name", metavar="NAME", type=TEXT, help="New customer name.")
@click.option("--address", metavar="TEXT", type=TEXT, help="Postal address (kept in unpaid).")
@format_option
@click.pass_obj
def edit(app, order_ref, manager, phone, email, name, address, fmt):
    """Correct ORDER's contact details, in the source first when it can take them."""
    from unpaid.desk.work import edit as change, validate_contact

    manager = need(manager)
    changes = validate_contact(phone, email, name, address, app.config.default_country)
    order = find_order(app, order_ref)
    with connector_for(app, order) as connector:
        echo_done(app, fmt, order.id, change(app.store, connector, order, manager, changes, app.now(),
                                             command_line("edit", order.id, "--manager", manager)))


@click.command()
@click.argument("order_ref", metavar="ORDER")
@manager_option()
@click.option("--template", "-t", required=True, metavar="NAME", help="Template NAME.txt in the templates folder.")
@click.option("--channel", metavar="NAME", help="Channel [default: [desk] channel, or the only one].")
@click.option("--offer", metavar="PERCENT", help="Make an offer with the message, e.g. 25%.")
@click.option("--offer-kind", type=click.Choice(["discount", "bonus"]), help="[default: [desk] offer_kind].")
@format_option
@click.pass_obj
def send(app, order_ref, manager, template, channel, offer, offer_kind, fmt):
    """Send ORDER's customer a message by hand (bank details, an answer, an offer).

    Recorded like automatic messages (ledger, history) and counted by the playbooks' frequency cap.

    \b
    Examples:
      unpaid send shop:1042 --template bank_details -m anna
      unpaid send shop:1042 --template ph_last_chance --offer 25% --offer-kind bonus -m anna
    """
    from unpaid.desk import send as sending

    manager = need(manager)
    s, order = settings(app), find_order(app, order_ref)
    prepared = sending.prepare(app.store, app.config, app.plugins, s, order, template, channel, offer, offer_kind)
    sent = sending.send(app.store, app.config, app.plugins, s, order, prepared, actor=f"manager:{manager}",
                        now=app.now(), command=command_line("send", order.id, "--template", template))
    line = _("{order}: sent {template} via {channel} to {to} with a {percent}% offer") if sent["offer"] else \
        _("{order}: sent {template} via {channel} to {to}")
    answer(app, fmt, sent, line.format(order=order.id, template=template, channel=sent["channel"], to=sent["to"],
                                       percent=sent["offer"]))
    for line in sent["notes"]:
        app.warn(line)
