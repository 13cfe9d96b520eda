"""The sector catalogue: configured codes plus every sector an enabled plugin declares."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from inspect_core.plugin_manager import get_pm, sector_owners


@dataclass(frozen=True)
class SectorEntry:
    code: str
    name_zh: str
    name_en: str
    plugin: str | None
    version: str | None


def catalogue() -> dict[str, SectorEntry]:
    """code → entry; a plugin's declaration wins over the configured names."""
    entries = {
        code: SectorEntry(code, names["zh"], names["en"], None, None)
        for code, names in current_app.config["SECTORS"].items()
    }
    for code, (plugin, sector) in sector_owners(get_pm()).items():
        entries[code] = SectorEntry(code, sector.name_zh, sector.name_en, plugin, sector.version)
    return entries


def unknown_sectors(codes: list[str]) -> list[str]:
    known = catalogue()
    return [c for c in codes if c not in known]
