"""The plugin manager: integrations load from the ``opus1_integrations`` entry-point group."""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType

import pluggy

from . import hookspecs
from .errors import PluginBroken, UsageError

ENTRY_POINT_GROUP = "opus1_integrations"
SELECT_ENV = "OPUS1_INT_LOAD_PLUGINS"


@dataclass
class LoadedPlugin:
    """One entry point: what it is and, when it could not be used, why."""

    name: str
    distribution: str | None = None
    version: str | None = None
    module: ModuleType | object | None = None
    error: str | None = None
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The plugin as shown by ``opus1-int plugins --json``."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "error": self.error,
        }


class Plugins:
    """Loads plugins once and routes hook calls to one integration at a time."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("opus1_integrations")
        self.pm.add_hookspecs(hookspecs)
        self.loaded: dict[str, LoadedPlugin] = {}

    def load_entry_points(self) -> None:
        """Load the selected entry points one by one; a failing plugin is recorded, not fatal."""
        selected = _selection()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if selected is not None and ep.name not in selected:
                continue
            dist = ep.dist
            record = LoadedPlugin(
                name=ep.name,
                distribution=dist.metadata["Name"] if dist else None,
                version=dist.version if dist else None,
            )
            if ep.name in self.loaded:
                record.error = (
                    f"duplicate integration name {ep.name!r}: already provided by "
                    f"{self.loaded[ep.name].distribution}; uninstall one of them"
                )
                self.loaded[f"{ep.name} ({record.distribution})"] = record
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a plugin's import can raise anything
                record.error = _describe(exc)
                self.loaded[ep.name] = record
                continue
            self.register(module, ep.name, record)

    def register(self, plugin: object, name: str, record: LoadedPlugin | None = None) -> LoadedPlugin:
        """Register one plugin object under an integration name and check its hooks."""
        record = record or LoadedPlugin(name=name)
        already = self.pm.is_registered(plugin)
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as exc:  # pluggy.PluginValidationError or a name clash
            if not already and self.pm.is_registered(plugin):  # never undo another name's registration
                self.pm.unregister(plugin)
            record.error = _describe(exc)
        else:
            record.module = plugin
            record.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        self.loaded[name] = record
        return record

    def unregister(self, name: str) -> None:
        """Remove a plugin (tests register throwaway plugins and remove them afterwards)."""
        record = self.loaded.pop(name, None)
        if record and record.module is not None and self.pm.is_registered(record.module):
            self.pm.unregister(record.module)

    def names(self) -> list[str]:
        """The integration names that loaded without error."""
        return sorted(n for n, p in self.loaded.items() if p.error is None)

    def get(self, name: str) -> LoadedPlugin:
        """The plugin for an integration, or a usage/plugin error saying what is wrong."""
        record = self.loaded.get(name)
        if record is None:
            known = ", ".join(self.names()) or "none"
            raise UsageError(
                f"unknown integration {name!r}",
                hint=f"installed integrations: {known}; run `opus1-int plugins` to list them",
            )
        if record.error is not None:
            raise PluginBroken(
                f"the {name!r} plugin is broken: {record.error}",
                hint="reinstall or upgrade the plugin; `opus1-int plugins --json` shows the error",
            )
        return record

    def call(self, name: str, hook: str, **kwargs):
        """Call one hook of one integration only; ``None`` when the plugin does not implement it."""
        self.get(name)
        return self._caller(name, hook)(**kwargs)

    def register_commands(self, cli) -> None:
        """Let every working plugin add its commands to ``cli``, one at a time: a plugin whose registration raises
        is marked broken and the others still register."""
        for name, record in list(self.loaded.items()):
            if record.error is None:
                try:
                    self._caller(name, "register_commands")(cli=cli)
                except Exception as exc:  # a plugin's command registration can raise anything
                    record.error = f"register_commands failed: {type(exc).__name__}: {exc}"

    def _caller(self, name: str, hook: str):
        """The hook's caller restricted to one integration's plugin."""
        others = [p.module for n, p in self.loaded.items() if n != name and p.module is not None]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)


def _selection() -> set[str] | None:
    value = os.environ.get(SELECT_ENV)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"
