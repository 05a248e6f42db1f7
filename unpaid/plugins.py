"""Plugin loading: lazy, one ``try`` per plugin, registries keyed by name.

Nothing happens at import. The manager is built on first need; entry points in the ``unpaid``
group are filtered by ``UNPAID_LOAD_PLUGINS`` *before* they are imported, and a plugin that fails
to import or register becomes a :class:`PluginProblem` row (shown by ``unpaid plugins``,
``unpaid doctor`` and a command that needs what it would have registered) instead of a crash.

``UNPAID_TRACE_PLUGINS=1`` prints every load and hook call with its result to stderr;
``UNPAID_PLUGINS_STRICT=1`` raises a plugin's error instead, after printing its traceback.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import pluggy

from unpaid.i18n import _

from unpaid import hookspecs
from unpaid.errors import ConfigError

if TYPE_CHECKING:
    from unpaid.channel import ChannelSpec
    from unpaid.connector import ConnectorSpec

GROUP = "unpaid"
#: Built-in plugins, registered exactly like third-party ones (and blockable by name).
DEFAULT_PLUGINS = {"channels": "unpaid.channels"}


@dataclass
class PluginInfo:
    """One loaded plugin: where it came from and what it registered."""

    name: str
    distribution: str | None = None
    version: str | None = None
    default: bool = False
    connectors: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


@dataclass
class PluginProblem:
    """A plugin that could not be loaded or whose registration failed."""

    plugin: str
    distribution: str | None
    version: str | None
    error: str
    fix: str

    def __str__(self) -> str:
        return _("plugin {plugin!r} is broken: {error} — {fix}").format(plugin=self.plugin, error=self.error,
                                                                         fix=self.fix)


@dataclass
class Plugins:
    """The loaded plugin manager and the registries built from its hooks."""

    pm: pluggy.PluginManager
    _info: dict[str, PluginInfo]
    _problems: list[PluginProblem]
    _connectors: dict[str, tuple["ConnectorSpec", str]] | None = None
    _channels: dict[str, tuple["ChannelSpec", str]] | None = None
    #: Entry points found but not imported yet (``load(lazy=True)``): a command imports the plugins it uses.
    pending: list[tuple[str, Callable[[], object], PluginInfo]] = field(default_factory=list)
    announce: bool = False  # print the problems of plugins loaded later, as get_plugins does at first

    @property
    def info(self) -> dict[str, PluginInfo]:
        self.load_pending()
        return self._info

    @property
    def problems(self) -> list[PluginProblem]:
        self.load_pending()
        return self._problems

    def load_pending(self, only: Callable[[str, PluginInfo], bool] | None = None) -> None:
        """Import the pending entry points (those ``only`` accepts); the registries are collected anew."""
        chosen = [p for p in self.pending if only is None or only(p[0], p[2])]
        if not chosen:
            return
        self.pending = [p for p in self.pending if p not in chosen]
        known = len(self._problems)
        for name, loader, info in chosen:
            _register(self, name, loader, info)
        self._connectors = self._channels = None
        if self.announce:
            for problem in self._problems[known:]:
                print(_("Warning: {message}").format(message=problem), file=sys.stderr)

    @property
    def connectors(self) -> dict[str, "ConnectorSpec"]:
        """Connector specs by type name, registering them on first use."""
        self.load_pending()
        if self._connectors is None:
            self._connectors = self._collect("register_connectors", "connectors")
        return {name: spec for name, (spec, _) in self._connectors.items()}

    @property
    def channels(self) -> dict[str, "ChannelSpec"]:
        """Channel specs by type name, registering them on first use."""
        self.load_pending()
        if self._channels is None:
            self._channels = self._collect("register_channels", "channels")
        return {name: spec for name, (spec, _) in self._channels.items()}

    def connector_spec(self, type_name: str) -> "ConnectorSpec":
        """Return the spec for a connector type or raise a ConfigError naming the fix.

        When a plugin failed to load, the error names it (the one named like the type first): the
        connector is then most likely installed and broken, not missing. The plugin named like the type is
        imported first, the others only when it does not register it."""
        named = {type_name, f"unpaid-{type_name}", f"unpaid_{type_name}"}
        self.load_pending(lambda name, info: name in named or info.distribution in named)
        if self._connectors is None:
            self._connectors = self._collect("register_connectors", "connectors")
        if type_name in self._connectors:
            return self._connectors[type_name][0]
        specs = self.connectors
        if type_name not in specs:
            known = ", ".join(sorted(specs)) or _("none installed")
            broken = self.broken_for(type_name)
            if broken:
                p = broken[0]
                what = f"{p.plugin!r}" + (f" ({p.distribution} {p.version})" if p.distribution else "")
                likely = p.plugin == type_name or p.distribution == f"unpaid-{type_name}"
                message = (_("no connector of type {type!r}: its plugin {plugin} is installed but failed to load: "
                             "{error}") if likely else
                           _("no connector of type {type!r}: a plugin that may provide it, {plugin} is installed but "
                             "failed to load: {error}"))
                raise ConfigError(
                    message.format(type=type_name, plugin=what, error=p.error),
                    _("{fix}; UNPAID_PLUGINS_STRICT=1 shows the traceback").format(fix=p.fix),
                )
            raise ConfigError(
                _("no connector of type {type!r} (installed: {known})").format(type=type_name, known=known),
                _("install its plugin, e.g. `unpaid install unpaid-{type}` (from a checkout of unpaid: "
                  "`unpaid install ./plugins/{type}`), then check `unpaid plugins`").format(type=type_name),
            )
        return specs[type_name]

    def broken_for(self, type_name: str) -> list[PluginProblem]:
        """Plugins that failed to load, the one named like ``type_name`` first."""
        named = {type_name, f"unpaid-{type_name}", f"unpaid_{type_name}"}
        return sorted(self.problems, key=lambda p: not ({p.plugin, p.distribution} & named))

    def channel_spec(self, type_name: str) -> "ChannelSpec":
        """Return the spec for a channel type or raise a ConfigError naming the fix (the built-in ones need
        no plugin imported)."""
        if self._channels is None:
            self._channels = self._collect("register_channels", "channels")
        if type_name in self._channels:
            return self._channels[type_name][0]
        specs = self.channels
        if type_name not in specs:
            known = ", ".join(sorted(specs)) or _("none installed")
            raise ConfigError(_("no channel of type {type!r} (installed: {known})").format(type=type_name, known=known),
                              _("fix the channel's `type` or install the plugin that provides it"))
        return specs[type_name]

    def add_commands(self, cli: Any) -> None:
        """Let each plugin add its commands to ``cli``; a failing plugin is recorded, not raised."""
        self.load_pending()
        for impl in self.pm.hook.register_commands.get_hookimpls():
            before = set(getattr(cli, "commands", {}))
            _trace(f"{impl.plugin_name}: register_commands(cli)")
            try:
                impl.function(**_args(impl, cli=cli))
            except Exception as exc:  # noqa: BLE001 - one plugin must not break the CLI
                _trace(f"{impl.plugin_name}: register_commands raised {exc!r}")
                self._problem(impl.plugin_name, f"register_commands raised {exc!r}")
            else:
                added = sorted(set(getattr(cli, "commands", {})) - before)
                _trace(f"{impl.plugin_name}: register_commands added {', '.join(added) or 'no command'}")

    def _collect(self, hook_name: str, kind: str) -> dict[str, tuple[Any, str]]:
        found: dict[str, tuple[Any, str]] = {}
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            plugin = impl.plugin_name

            def register(spec: Any, _plugin: str = plugin) -> None:
                if spec.name in found:
                    other = found[spec.name][1]
                    message = (_("two plugins register the connector {name!r}: {other!r} and {plugin!r}")
                               if kind == "connectors" else
                               _("two plugins register the channel {name!r}: {other!r} and {plugin!r}"))
                    raise ConfigError(
                        message.format(name=spec.name, other=other, plugin=_plugin),
                        _("uninstall one of them, or block one with UNPAID_BLOCK_PLUGINS={plugin}")
                        .format(plugin=_plugin),
                    )
                found[spec.name] = (spec, _plugin)
                if _plugin in self._info:
                    getattr(self._info[_plugin], kind).append(spec.name)

            _trace(f"{plugin}: {hook_name}(register)")
            before = set(found)
            try:
                impl.function(**_args(impl, register=register))
            except ConfigError:
                raise
            except Exception as exc:  # noqa: BLE001 - isolate and attribute a failing plugin
                _trace(f"{plugin}: {hook_name} raised {exc!r}")
                self._problem(plugin, f"{hook_name} raised {exc!r}")
            else:
                added = sorted(set(found) - before)
                _trace(f"{plugin}: {hook_name} registered {', '.join(added) or f'no {kind}'}")
        return found

    def _problem(self, plugin: str, error: str) -> None:
        if _strict():
            _print_traceback()
            raise
        info = self._info.get(plugin)
        self._problems.append(PluginProblem(plugin, info and info.distribution, info and info.version, error,
                                           _fix(info and info.distribution)))


def _args(impl: Any, **available: Any) -> dict[str, Any]:
    # pluggy lets an implementation accept a subset of the spec's arguments.
    return {name: available[name] for name in impl.argnames if name in available}


def _strict() -> bool:
    return os.environ.get("UNPAID_PLUGINS_STRICT", "") not in ("", "0")


def _print_traceback() -> None:
    """Under UNPAID_PLUGINS_STRICT the plugin author wants where it failed, not only the one-line error."""
    import traceback

    print("UNPAID_PLUGINS_STRICT: a plugin failed; its traceback:", file=sys.stderr)
    traceback.print_exc(file=sys.stderr)


def tracing() -> bool:
    return os.environ.get("UNPAID_TRACE_PLUGINS", "") not in ("", "0")


def _trace(message: str) -> None:
    if tracing():
        print(f"unpaid plugins: {message}", file=sys.stderr)


trace = _trace  # for the core's calls into plugin code beyond the hooks (a spec's factory)


def _fix(distribution: str | None) -> str:
    if distribution:
        return _("upgrade or remove it: `pip install -U {distribution}` or `pip uninstall {distribution}`").format(
            distribution=distribution)
    return _("fix the plugin, or block it with UNPAID_BLOCK_PLUGINS")


def _names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def _entry_points() -> Iterable[Any]:
    # Imported here: importlib.metadata costs ~20 ms and `unpaid --help` must not pay it.
    from importlib.metadata import entry_points

    return entry_points(group=GROUP)


def load(
    entry_points: Iterable[Any] | None = None,
    environ: Mapping[str, str] | None = None,
    extra: Iterable[tuple[str, object]] = (),
    lazy: bool = False,
) -> Plugins:
    """Build a plugin manager: defaults, then entry points, then ``extra`` (name, module) pairs.

    ``lazy``: entry points are imported when something needs them (:meth:`Plugins.load_pending`), so a
    command that opens a CSV source imports the CSV plugin alone.

    ``UNPAID_LOAD_PLUGINS`` (comma-separated distribution or entry-point names; empty = none)
    selects entry points before import; ``UNPAID_BLOCK_PLUGINS`` blocks any plugin by name,
    defaults included. An unknown name in ``UNPAID_LOAD_PLUGINS`` is a ConfigError.
    """
    env = os.environ if environ is None else environ
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm, {}, [])
    blocked = _names(env.get("UNPAID_BLOCK_PLUGINS")) or set()
    for name in blocked:
        pm.set_blocked(name)

    import importlib

    for name, module in DEFAULT_PLUGINS.items():
        if name not in blocked:
            _register(plugins, name, lambda module=module: importlib.import_module(module),
                      PluginInfo(name, "unpaid", _own_version(), default=True))

    wanted = _names(env.get("UNPAID_LOAD_PLUGINS"))
    eps = list(_entry_points() if entry_points is None else entry_points)
    if wanted is not None:
        known = {ep.name for ep in eps} | {_dist_name(ep) for ep in eps}
        unknown = wanted - known
        if unknown:
            raise ConfigError(
                _("UNPAID_LOAD_PLUGINS names {names}, which is not installed").format(names=", ".join(sorted(unknown))),
                _("use names from `unpaid plugins` (installed: {known})").format(
                    known=", ".join(sorted(known)) or _("none")),
            )
    for ep in eps:
        dist = _dist_name(ep)
        if wanted is not None and ep.name not in wanted and dist not in wanted:
            continue
        if ep.name in blocked or dist in blocked:
            continue
        info = PluginInfo(ep.name, dist, _dist_version(ep))
        if lazy:
            plugins.pending.append((ep.name, ep.load, info))
        else:
            _register(plugins, ep.name, ep.load, info)
    for name, module in extra:
        _register(plugins, name, lambda module=module: module, PluginInfo(name))
    return plugins


def _register(plugins: Plugins, name: str, loader: Callable[[], object], info: PluginInfo) -> None:
    pm = plugins.pm
    if pm.has_plugin(name) or pm.is_blocked(name):
        if pm.has_plugin(name):
            plugins._problems.append(PluginProblem(name, info.distribution, info.version,
                                                   _("a plugin of that name is already loaded"),
                                                   _fix(info.distribution)))
        return
    origin = f" ({info.distribution} {info.version})" if info.distribution and not info.default else ""
    _trace(f"loading {name}{origin}")
    try:
        module = loader()
        pm.register(module, name=name)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError:
            pm.unregister(name=name)
            raise
    except Exception as exc:  # noqa: BLE001 - a broken plugin is a row, not a crash
        _trace(f"{name} failed to load: {type(exc).__name__}: {exc}")
        if _strict():
            _print_traceback()
            raise
        plugins._problems.append(PluginProblem(name, info.distribution, info.version,
                                               f"{type(exc).__name__}: {exc}", _fix(info.distribution)))
        return
    info.hooks = sorted(h.name for h in pm.get_hookcallers(module) or [])
    plugins._info[name] = info
    _trace(f"loaded {name} from {getattr(module, '__name__', module)!s}: hooks {', '.join(info.hooks) or 'none'}")


def _dist_name(ep: Any) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else None


def _dist_version(ep: Any) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else None


def _own_version() -> str:
    from unpaid import __version__

    return __version__


_current: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugins, loaded on first call; problems are printed once to stderr."""
    global _current
    if _current is None:
        _current = load(lazy=True)
        for problem in _current._problems:
            print(_("Warning: {message}").format(message=problem), file=sys.stderr)
        _current.announce = True
    return _current


def set_plugins(plugins: Plugins | None) -> None:
    """Replace the process-wide plugins (tests, embedding); None forces a reload on next use."""
    global _current
    _current = plugins
