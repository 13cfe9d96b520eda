"""One pluggy manager per app: hookspecs, then the *enabled* entry points.

Installing a distribution that declares an ``inspect_core.plugins`` entry point does not
enable it; only names listed in ``INSPECT_PLUGINS`` are loaded (CKAN's ``ckan.plugins``,
tox's manager).  ``INSPECT_TRACE_PLUGINS=1`` logs every hook call.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy
from flask import Flask, current_app

from inspect_core import hookspecs, i18n
from inspect_core.plugin_api import Fact, Message, Sector

ENTRY_POINT_GROUP = "inspect_core.plugins"
log = logging.getLogger(__name__)


class PluginConfigError(RuntimeError):
    """An enabled plugin that is not installed, fails to import, or clashes with another."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str | None
    hooks: tuple[str, ...]
    distribution_version: str | None = None


def available_entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def make_plugin_manager(enabled: Iterable[str], extra: Iterable[Any] = ()) -> pluggy.PluginManager:
    """Build the manager: hookspecs, enabled entry points, then ``extra`` objects (tests)."""
    pm = pluggy.PluginManager("inspect_core")
    pm.add_hookspecs(hookspecs)
    eps = available_entry_points()
    for name in enabled:
        ep = eps.get(name)
        if ep is None:
            raise PluginConfigError(
                f"plugin '{name}' is enabled but not installed "
                f"(installed: {', '.join(sorted(eps)) or 'none'})"
            )
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must name itself
            raise PluginConfigError(f"plugin '{name}' failed to import: {exc!r}") from exc
        pm.register(plugin, name=name)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    _check_sectors(pm)
    _check_messages(pm)
    if os.environ.get("INSPECT_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: log.info("plugin trace: %s", msg.rstrip()))
        pm.enable_tracing()
    return pm


def _check_sectors(pm: pluggy.PluginManager) -> None:
    """Each plugin's ``inspect_sectors`` answer is a list of ``Sector`` with a code, zh-CN
    and English names and a version (the catalogue, the template and every stored
    judgement show them), no code declared twice.  A plugin that raises or answers
    something else stops the app from starting, named, not with a bare traceback."""
    seen: dict[str, str] = {}
    for impl in pm.hook.inspect_sectors.get_hookimpls():
        try:
            answer = impl.function()
        except Exception as exc:  # noqa: BLE001 - any failure is the plugin's, named
            raise PluginConfigError(
                f"plugin '{impl.plugin_name}' inspect_sectors raised {exc!r}"
            ) from exc
        if answer is not None and not isinstance(answer, list | tuple):
            raise PluginConfigError(
                f"plugin '{impl.plugin_name}' inspect_sectors returned "
                f"{type(answer).__name__}, not a list of plugin_api.Sector"
            )
        for sector in answer or ():
            if not isinstance(sector, Sector):
                raise PluginConfigError(
                    f"plugin '{impl.plugin_name}' declared {sector!r}, not a plugin_api.Sector"
                )
            texts = (sector.code, sector.name_zh, sector.name_en, sector.version)
            if not all(isinstance(t, str) and t.strip() for t in texts) or not (
                sector.qualification is None or isinstance(sector.qualification, str)
            ):
                raise PluginConfigError(
                    f"plugin '{impl.plugin_name}' declared {sector!r}: code, zh-CN and "
                    "English names and version must be non-empty text"
                )
            if problem := _unfit_code(sector.code) or _unfit_version(sector.version):
                raise PluginConfigError(
                    f"plugin '{impl.plugin_name}' declared {sector!r}: {problem}"
                )
            if problem := _unfit_facts(sector.facts):
                raise PluginConfigError(
                    f"plugin '{impl.plugin_name}' declared sector '{sector.code}' with "
                    f"facts {problem}"
                )
            if sector.code in seen:
                raise PluginConfigError(
                    f"sector '{sector.code}' declared by both '{seen[sector.code]}' "
                    f"and '{impl.plugin_name}'"
                )
            seen[sector.code] = impl.plugin_name


#: the longest sector code and version the stores hold (``enterprise_sectors.sector``,
#: ``plans.sector``, ``results.sector``; ``results.plugin_version``): a longer code was
#: refused as the user's error on every registration, a longer version failed every
#: result written on PostgreSQL (a 500)
MAX_CODE = 40
MAX_VERSION = 40
#: what a sector code cannot hold: a comma or control character (the draw's pool snapshot
#: refused it, a 500 on every draw), a list separator of the enterprise upload's sectors
#: cell, or a ``/`` (the code is a path segment of ``/sectors/{code}``)
_NOT_IN_A_CODE = re.compile(r"[\x00-\x1f\x7f,;，；、/]")


def _unfit_code(code: str) -> str | None:
    """Why the registries, the draw or the routes cannot hold ``code``, if they cannot."""
    if len(code) > MAX_CODE:
        return f"the code is longer than {MAX_CODE} characters"
    if code != code.strip() or _NOT_IN_A_CODE.search(code):
        return "the code has surrounding space, a control character or one of , ; ， ； 、 /"
    return None


def _unfit_version(version: str) -> str | None:
    if len(version) > MAX_VERSION:
        return f"the version is longer than {MAX_VERSION} characters"
    return None


def _unfit_facts(facts: Any) -> str | None:
    """Why ``Sector.facts`` is not a tuple of :class:`Fact` with names of the form
    ``FACT_NAME``, each once, and both descriptions (the reasons that cite them): a
    malformed one loaded, then every judgement naming it was refused as "not declared"."""
    from inspect_core.judging import FACT_NAME

    if not isinstance(facts, tuple | list):
        return f"{type(facts).__name__}, not a tuple of plugin_api.Fact"
    names: set[str] = set()
    for fact in facts:
        if not isinstance(fact, Fact):
            return f"holding {fact!r}, not a plugin_api.Fact"
        if not isinstance(fact.name, str) or not FACT_NAME.fullmatch(fact.name):
            return f"holding the name {fact.name!r}, not of the form {FACT_NAME.pattern}"
        if fact.name in names:
            return f"holding the name {fact.name!r} twice"
        names.add(fact.name)
        texts = (fact.description_zh, fact.description_en)
        if not all(isinstance(t, str) and t.strip() for t in texts):
            return f"holding {fact!r}: zh-CN and English descriptions must be non-empty text"
    return None


def _check_messages(pm: pluggy.PluginManager) -> None:
    """Each plugin's ``inspect_messages`` answer is a sequence of well-formed ``Message``:
    a bad one stops the app from starting rather than break the first error it shows."""
    for impl in pm.hook.inspect_messages.get_hookimpls():
        try:
            messages = list(impl.function() or ())
            if bad := [m for m in messages if not isinstance(m, Message)]:
                raise ValueError(f"{bad[0]!r} is not a plugin_api.Message")
            i18n.Catalogue(messages)
        except Exception as exc:  # noqa: BLE001 - any failure is the plugin's, named
            raise PluginConfigError(f"plugin '{impl.plugin_name}' inspect_messages: {exc}") from exc


def init_app(app: Flask, extra: Iterable[Any] = ()) -> None:
    app.extensions["inspect_plugins"] = make_plugin_manager(app.config["PLUGINS"], extra)


def get_pm(app: Flask | None = None) -> pluggy.PluginManager:
    return (app or current_app).extensions["inspect_plugins"]


def sector_owners(pm: pluggy.PluginManager) -> dict[str, tuple[str, Sector]]:
    """sector code → (plugin name, declared Sector)."""
    owners: dict[str, tuple[str, Sector]] = {}
    for impl in pm.hook.inspect_sectors.get_hookimpls():
        for sector in impl.function() or ():
            owners[sector.code] = (impl.plugin_name, sector)
    return owners


def plugin_infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """What ``inspect-core plugins`` lists: name, version, hooks implemented, and the
    installed distribution each came from.  ``make_plugin_manager`` loads only the enabled
    entry points, so pluggy's ``list_plugin_distinfo`` is empty for them: the distribution
    is the entry point's, and its version stands in for a plugin without ``__version__``."""
    dists = {
        plugin: (dist.project_name, dist.version) for plugin, dist in pm.list_plugin_distinfo()
    }
    eps = available_entry_points()
    infos = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda p: str(p[0])):
        if plugin is None:
            continue
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
        dist = dists.get(plugin)
        if dist is None and (ep_dist := getattr(eps.get(name), "dist", None)) is not None:
            dist = (ep_dist.name, ep_dist.version)
        version = getattr(plugin, "__version__", None) or (dist[1] if dist else "?")
        infos.append(
            PluginInfo(
                name=str(name),
                version=str(version),
                distribution=dist[0] if dist else None,
                hooks=hooks,
                distribution_version=dist[1] if dist else None,
            )
        )
    return infos
