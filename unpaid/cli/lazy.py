"""A click group whose commands are imported only when run (``unpaid --help`` stays fast)."""

from __future__ import annotations

import importlib

import click

from unpaid.cli.language import localize, translate


class LazyGroup(click.Group):
    """Commands come from a table ``name -> ("module:attr", short help)``.

    ``--help`` lists them from the table without importing anything; a command's module is
    imported when the command is resolved. Names not in the table are looked up among plugin
    commands, which loads plugins only then.
    """

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self._plugin_group: click.Group | None = None
        self._plugins: object = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            path, _ = self.lazy_commands[cmd_name]
            module_name, attr = path.split(":")
            return localize(getattr(importlib.import_module(module_name), attr))
        command = super().get_command(ctx, cmd_name)
        if command is None:
            command = self.plugin_commands().get_command(ctx, cmd_name)
        return localize(command) if command is not None else None

    def plugin_commands(self) -> click.Group:
        """The commands plugins add, collected once per set of loaded plugins (tests swap them in one process)."""
        from unpaid.plugins import get_plugins

        plugins = get_plugins()
        if self._plugin_group is None or self._plugins is not plugins:
            group = click.Group()
            plugins.add_commands(group)
            self._plugin_group, self._plugins = group, plugins
        return self._plugin_group

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands:
                rows.append((name, translate(self.lazy_commands[name][1])))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(formatter.width)))
        if rows:
            from unpaid.cli.language import CLICK

            with formatter.section(CLICK.gettext("Commands")):
                formatter.write_dl(rows)
