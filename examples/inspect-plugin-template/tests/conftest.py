"""Fixtures of the plugin's own tests, independent of the core's test suite."""

from __future__ import annotations

import inspect_core.hookspecs
import pluggy
import pytest

import inspect_metrology


@pytest.fixture(scope="session")
def pm() -> pluggy.PluginManager:
    """A plugin manager holding only this plugin, built the way the core builds its own."""
    manager = pluggy.PluginManager("inspect_core")
    manager.add_hookspecs(inspect_core.hookspecs)
    manager.register(inspect_metrology, name=inspect_metrology.SECTOR_CODE)
    manager.check_pending()  # every hookimpl must match a hookspec (catches typos)
    return manager
