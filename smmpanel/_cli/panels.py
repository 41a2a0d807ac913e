"""The command line for many panels: ``--config``/``--panel``, ``balances``, ``cheapest``,
``services --all``/``--save`` and ``services diff``.

``register(cli)`` adds all of it to the ``smmpanel`` group: ``--config PATH``
(``SMMPANEL_CONFIG``, the ``Panels`` TOML file) and ``--panel NAME`` on every panel
command, the ``balances`` and ``cheapest`` commands, and ``services`` becomes a group that
keeps its one-panel listing and adds ``--all``, ``--save FILE`` and ``services diff OLD NEW``.

Which panel a one-panel command talks to: ``--url``/``--key`` given on the command line
win; else ``--panel NAME`` picks a table of the config; else ``SMMPANEL_URL``/``SMMPANEL_KEY``;
else a config with a single panel. The file's ``timeout``, ``retries``, ``concurrency`` and
``rate_limit`` apply unless the command line gives them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import anyio
import click

import smmpanel
from smmpanel import Panels, Service, SMMPanelError

from .._panels.config import FileConfig, PanelConfig, read_config
from .errors import UsageError, hide, verbose_logging
from .output import FORMATS, SERVICE_COLUMNS, Column, money, service_row, writer

__all__ = ["register"]

SAVED_FORMAT = "smmpanel-catalogue/1"
_FILE_OPTIONS = ("timeout", "retries", "concurrency", "rate_limit")

BALANCES_COLUMNS = (
    Column("panel", "Panel", 16),
    Column("balance", "Balance", 14, right=True),
    Column("currency", "Currency", 8),
    Column("error", "Error"),
)
CHEAPEST_COLUMNS = (
    Column("panel", "Panel"),
    *SERVICE_COLUMNS[:-1],
    Column("quantity", "Quantity", right=True),
    Column("cost", "Cost", right=True),
)
ALL_SERVICES_COLUMNS = (Column("panel", "Panel"), *SERVICE_COLUMNS)
DIFF_COLUMNS = (
    Column("panel", "Panel"),
    Column("change", "Change"),
    Column("service", "Service", right=True),
    Column("name", "Name"),
    Column("field", "Field"),
    Column("old", "Old"),
    Column("new", "New"),
    Column("reason", "Reason"),
)


def register(group: click.Group) -> None:
    """Add ``--config``/``--panel`` to ``group``'s panel commands, and the many-panel commands."""
    for command in group.commands.values():
        if any(param.name == "url" for param in command.params):
            _with_config(command)
    single = group.commands.pop("services", None)
    if single is not None:
        group.add_command(_services_group(single))
    group.add_command(balances)
    group.add_command(cheapest)


# ---------------------------------------------------------------------------- options


def _config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        envvar="SMMPANEL_CONFIG",
        show_envvar=True,
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PATH",
        help="The panels file (TOML, one [panels.NAME] table each).",
    )(func)


def _panel_option(*, multiple: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--panel",
        "panel_names",
        multiple=multiple,
        metavar="NAME",
        help="Only this panel of the config" + (" (may be repeated)." if multiple else "."),
    )


def _format_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table: for people; json: JSON Lines; csv: a header row, then one row each.",
    )(func)


def _verbose_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-v", "--verbose", is_flag=True, help="Log retries on stderr.")(func)


def _read(path: Path) -> FileConfig:
    try:
        config = read_config(path)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for panel in config.panels:
        hide(panel.key)
    return config


def _pick(config: FileConfig, path: Path, names: Sequence[str]) -> list[PanelConfig]:
    """The panels ``--panel`` names (all when none), in the file's order."""
    known = {panel.name: panel for panel in config.panels}
    for name in names:
        if name not in known:
            raise UsageError(f"{path}: no panel {name!r} (panels: {', '.join(known)})")
    return [panel for panel in config.panels if not names or panel.name in names]


# ---------------------------------------------------------------------------- one panel


def _with_config(command: click.Command) -> None:
    """Give a one-panel command ``--config`` and ``--panel``, resolved into its --url/--key."""
    _config_option(command)  # on a Command, click appends the option to its params
    _panel_option(multiple=False)(command)
    original = command.callback
    assert original is not None

    @functools.wraps(original)
    def callback(*, config: Path | None, panel_names: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        chosen = _one_panel(ctx, config, panel_names)
        if chosen is not None:
            kwargs["url"], kwargs["key"] = chosen.url, chosen.key
            for name in _FILE_OPTIONS:
                source = ctx.get_parameter_source(name)
                if name in chosen.options and source is click.core.ParameterSource.DEFAULT:
                    kwargs[name] = chosen.options[name]
        return original(**kwargs)

    command.callback = callback


def _one_panel(ctx: click.Context, config: Path | None, name: str | None) -> PanelConfig | None:
    given = click.core.ParameterSource.COMMANDLINE
    if config is None:
        if name is not None:
            raise UsageError("--panel needs a config: pass --config or set SMMPANEL_CONFIG")
        return None
    if name is not None and ctx.get_parameter_source("url") is given:
        raise UsageError("give either --url or --panel, not both")
    if name is None and ctx.params.get("url"):
        return None  # --url or SMMPANEL_URL: the config is for other commands
    panels = _read(config).panels
    if name is None:
        if len(panels) == 1:
            return panels[0]
        names = ", ".join(panel.name for panel in panels)
        raise UsageError(f"{config} has {len(panels)} panels: pick one with --panel ({names})")
    (chosen,) = _pick(FileConfig(panels, {}), config, [name])
    return chosen


# ---------------------------------------------------------------------------- many panels


def _panels(config: Path | None, names: Sequence[str]) -> Panels:
    """``Panels`` for the config (only ``names`` if given); bad usage without a config."""
    if config is None:
        raise UsageError("no panels: pass --config PATH or set SMMPANEL_CONFIG")
    file = _read(config)
    chosen = _pick(file, config, names)
    try:
        panels = Panels.from_toml(config)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if len(chosen) == len(file.panels):
        return panels
    return _Subset(panels, chosen, file)


class _Subset(Panels):
    """Some panels of a ``from_toml`` ``Panels``; closing it closes the whole file's."""

    def __init__(self, whole: Panels, chosen: list[PanelConfig], file: FileConfig) -> None:
        super().__init__(
            {panel.name: whole[panel.name] for panel in chosen},
            rates=file.rates,
            currencies={panel.name: panel.currency for panel in chosen if panel.currency},
        )
        self._whole = whole

    async def aclose(self) -> None:
        await super().aclose()
        await self._whole.aclose()


def _run(work: Callable[[], Any]) -> int:
    return int(anyio.run(work))


@click.command()
@_config_option
@_panel_option(multiple=True)
@click.option(
    "--within",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Give up on panels that have not answered by then (each has its own timeout too).",
)
@_format_option
@_verbose_option
def balances(
    config: Path | None, panel_names: Sequence[str], within: float | None, fmt: str, verbose: bool
) -> int:
    """Show every panel's balance at once; a panel that fails shows its error in its row.

    Exit status 1 only when every panel failed.
    """
    if verbose:
        verbose_logging()
    panels = _panels(config, panel_names)

    async def work() -> int:
        async with panels:
            answers = await panels.balances(within=within)
        rows: list[dict[str, Any]] = []
        for name, answer in answers.items():
            if isinstance(answer, SMMPanelError):
                rows.append({"panel": name, "error": _error_text(answer)})
            else:
                rows.append(
                    {"panel": name, "balance": money(answer.amount), "currency": answer.currency}
                )
        writer(fmt, BALANCES_COLUMNS).write(rows)
        failed = sum(isinstance(answer, SMMPanelError) for answer in answers.values())
        return 1 if failed == len(answers) else 0

    return _run(work)


def _flag(name: str, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(f"--{name}/--no-{name}", default=None, help=help)


@click.command()
@_config_option
@_panel_option(multiple=True)
@click.option("--type", "type_", metavar="TYPE", help="Only services of this type (any case).")
@click.option("--quantity", type=click.IntRange(min=1), metavar="N", help="How many you order.")
@_flag("refill", "Only services with (or without) refill.")
@_flag("cancel", "Only services that can (or cannot) be canceled.")
@_flag("dripfeed", "Only services with (or without) drip-feed.")
@click.option("--search", metavar="TEXT", help="Only services whose name or category has TEXT.")
@click.option(
    "--max-age",
    type=click.FloatRange(min=0),
    default=900.0,
    show_default=True,
    metavar="SECONDS",
    help="Catalogues this young are not asked for again (within this run).",
)
@_format_option
@_verbose_option
def cheapest(
    config: Path | None,
    panel_names: Sequence[str],
    type_: str | None,
    quantity: int | None,
    refill: bool | None,
    cancel: bool | None,
    dripfeed: bool | None,
    search: str | None,
    max_age: float,
    fmt: str,
    verbose: bool,
) -> int:
    """Find the cheapest service across the panels, e.g. --type Default --quantity 1000 --refill.

    Cost is rate x quantity / 1000; panels in another currency than the first are left
    out unless the config's [rates] table converts them. Exit status 1 when nothing matches.
    """
    if verbose:
        verbose_logging()
    panels = _panels(config, panel_names)
    where = None
    if search:
        needle = search.casefold()

        def where(name: str, service: Service) -> bool:
            return needle in f"{service.name}\n{service.category}".casefold()

    async def work() -> int:
        async with panels:
            try:
                name, service = await panels.cheapest(
                    type=type_,
                    quantity=quantity,
                    refill=refill,
                    cancel=cancel,
                    dripfeed=dripfeed,
                    where=where,
                    max_age=max_age,
                )
            except LookupError as error:
                raise click.ClickException(str(error)) from None
        row = {"panel": name, **service_row(service)}
        row.pop("description")
        amount = 1000 if quantity is None else quantity
        row |= {"quantity": amount, "cost": money(service.cost(amount))}
        writer(fmt, CHEAPEST_COLUMNS).write([row])
        return 0

    return _run(work)


# ---------------------------------------------------------------------------- services


def _services_group(single: click.Command) -> click.Group:
    """``services``: the one-panel listing as before, plus --all, --save and ``diff``."""

    @click.pass_context
    def callback(
        ctx: click.Context, /, every: bool, save: Path | None, **kwargs: Any
    ) -> int | None:
        if ctx.invoked_subcommand is not None:
            return None
        if not every and save is None:
            assert single.callback is not None
            return ctx.invoke(single.callback, **kwargs)  # type: ignore[no-any-return]
        if kwargs.get("verbose"):
            verbose_logging()
        panels = _chosen_panels(ctx, kwargs)
        return _run(functools.partial(_list_or_save, panels, kwargs, save))

    group = click.Group(
        "services",
        callback=callback,
        params=[
            *single.params,
            click.Option(
                ["--all", "every"],
                is_flag=True,
                help="Every panel of the config (or each --panel): one catalogue, a panel column.",
            ),
            click.Option(
                ["--save"],
                type=click.Path(dir_okay=False, writable=True, path_type=Path),
                metavar="FILE",
                help="Save the catalogues (JSON) for `services diff`, instead of listing them.",
            ),
        ],
        help=single.help,
        short_help=single.short_help,
        invoke_without_command=True,
        context_settings=single.context_settings,
    )
    group.add_command(services_diff)
    return group


def _chosen_panels(ctx: click.Context, kwargs: Mapping[str, Any]) -> Panels:
    config, name = kwargs.get("config"), kwargs.get("panel_names")
    names = [name] if name else []
    if config is not None and not (kwargs.get("url") and not name):
        return _panels(config, names)
    url, key = kwargs.get("url"), kwargs.get("key")
    if not url or not key:
        raise UsageError("no panels: pass --config PATH (or --url and --key for one panel)")
    try:
        panel = smmpanel.Panel(
            url,
            key,
            timeout=kwargs["timeout"],
            retries=kwargs["retries"],
            concurrency=kwargs["concurrency"],
            rate_limit=kwargs["rate_limit"],
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    return _Owned({name or "panel": panel})


class _Owned(Panels):
    """``Panels`` over a ``Panel`` made here: closing it closes that ``Panel`` too."""

    async def aclose(self) -> None:
        await super().aclose()
        for panel in self.values():
            await panel.aclose()


async def _list_or_save(panels: Panels, kwargs: Mapping[str, Any], save: Path | None) -> int:
    async with panels:
        catalogue = await panels.services(refresh=True)
    for name, error in catalogue.errors.items():
        click.echo(f"warning: panel {name}: {_error_text(error)}", err=True)
    if save is not None:
        _save(save, panels.names, catalogue)
        count = sum(len(services) for services in catalogue.values())
        click.echo(f"saved {count} services of {len(catalogue)} panels to {save}", err=True)
    else:
        search = kwargs.get("search")
        needle = search.casefold() if search else None
        rows = [
            {"panel": name, **service_row(service)}
            for name, services in catalogue.items()
            for service in services
            if needle is None
            or needle
            in f"{service.id}\n{service.name}\n{service.type}\n{service.category}".casefold()
        ]
        writer(kwargs["fmt"], ALL_SERVICES_COLUMNS, f"{len(rows)} services").write(rows)
    return 1 if len(catalogue.errors) == len(panels) else 0


def _save(path: Path, names: Sequence[str], catalogue: smmpanel.Catalogue) -> None:
    saved: dict[str, Any] = {}
    for name in names:
        if name in catalogue.errors:
            error = catalogue.errors[name]
            saved[name] = {"error": str(error), "class": type(error).__name__}
        else:
            saved[name] = {"services": [_saved_service(s) for s in catalogue[name]]}
    document = {
        "format": SAVED_FORMAT,
        "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "panels": saved,
    }
    text = json.dumps(document, ensure_ascii=False, indent=1)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text + "\n", encoding="utf-8")
    os.replace(temporary, path)  # a reader never sees half a file


def _saved_service(service: Service) -> dict[str, Any]:
    row = dict(service_row(service))
    if service.extra:
        row["extra"] = service.extra
    return row


def _load(path: Path) -> dict[str, list[Service] | SMMPanelError]:
    """A file ``--save`` wrote: each panel's services, or its error then."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"{path}: cannot read it: {error.strerror or error}") from None
    except ValueError:
        raise UsageError(f"{path}: not a saved catalogue (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != SAVED_FORMAT:
        raise UsageError(f"{path}: not a saved catalogue (use `smmpanel services --save`)")
    panels = document.get("panels")
    if not isinstance(panels, dict):
        raise UsageError(f"{path}: not a saved catalogue (no panels)")
    loaded: dict[str, list[Service] | SMMPanelError] = {}
    for name, entry in panels.items():
        if isinstance(entry, dict) and isinstance(entry.get("error"), str):
            kind = getattr(smmpanel, str(entry.get("class")), None)
            if not (isinstance(kind, type) and issubclass(kind, SMMPanelError)):
                kind = SMMPanelError
            try:
                loaded[name] = kind(entry["error"], action="services")
            except TypeError:  # a class that wants more than a message
                loaded[name] = SMMPanelError(entry["error"], action="services")
            continue
        rows = entry.get("services") if isinstance(entry, dict) else None
        if not isinstance(rows, list):
            raise UsageError(f"{path}: panel {name!r} has neither services nor an error")
        try:
            loaded[name] = [_service(row) for row in rows]
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise UsageError(f"{path}: panel {name!r} has a service that is not readable") from None
    return loaded


def _service(row: dict[str, Any]) -> Service:
    def flag(value: object) -> bool:
        if value is None or isinstance(value, bool):
            return value  # type: ignore[return-value]
        raise ValueError(value)

    def integer(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(value)
        return value

    def text(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(value)
        return value

    description = row.get("description")
    return Service(
        integer(row["id"]),
        text(row["name"]),
        text(row["type"]),
        text(row["category"]),
        Decimal(text(row["rate"])),
        integer(row["min"]),
        integer(row["max"]),
        flag(row.get("refill")),
        flag(row.get("cancel")),
        flag(row.get("dripfeed")),
        None if description is None else text(description),
        dict(row.get("extra") or {}),
    )


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="A panel that lost more than this fraction of its services is suspect.",
)
@_format_option
def services_diff(old: Path, new: Path, threshold: float, fmt: str) -> int:
    """What changed between two saved catalogues: added, removed, changed fields.

    A panel whose NEW catalogue is an error, empty, missing or lost most of its services is
    reported as suspect (one row, nothing else for it) and the exit status is 1: such an
    answer is not to be acted on.
    """
    before, after = _load(old), _load(new)
    rows: list[dict[str, Any]] = []
    suspect = 0
    for name in [*before, *(n for n in after if n not in before)]:
        change = smmpanel.diff(before.get(name, []), after.get(name), threshold=threshold)
        if change.suspect:
            suspect += 1
            rows.append({"panel": name, "change": "suspect", "reason": change.reason})
            continue
        rows += [_diff_row(name, "added", s) for s in change.added]
        rows += [_diff_row(name, "removed", s) for s in change.removed]
        names = {s.id: s.name for s in after.get(name) or []}  # type: ignore[union-attr]
        rows += [
            {
                "panel": name,
                "change": "changed",
                "service": row.service_id,
                "name": names.get(row.service_id),
                "field": row.field,
                "old": _value(row.old),
                "new": _value(row.new),
            }
            for row in change.changed
        ]
    writer(fmt, DIFF_COLUMNS).write(rows)
    if suspect:
        click.echo(f"warning: {suspect} panel(s) suspect: see their rows", err=True)
    return 1 if suspect else 0


def _diff_row(panel: str, change: str, service: Service) -> dict[str, Any]:
    return {"panel": panel, "change": change, "service": service.id, "name": service.name}


def _value(value: object) -> object:
    return money(value) if isinstance(value, Decimal) else value


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
