"""inspect-core: double-random spot checks, sector plugins and quality-credit risk tiers."""

from __future__ import annotations

__version__ = "0.1.0"


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Lazy re-export so ``flask --app inspect_core`` finds the factory."""
    from inspect_core.app import create_app as factory

    return factory(*args, **kwargs)
