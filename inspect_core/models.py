"""Import every model module so ``metadata`` is complete (Alembic and tests use it)."""

from __future__ import annotations

from inspect_core.auth.models import ApiToken, User, UserRegion
from inspect_core.db import Base
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.inspectors.models import ConflictOfInterest, Inspector, InspectorQualification

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "ConflictOfInterest",
    "Enterprise",
    "EnterpriseSector",
    "Inspector",
    "InspectorQualification",
    "User",
    "UserRegion",
    "metadata",
]
