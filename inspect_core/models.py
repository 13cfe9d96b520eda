"""Import every model module so ``metadata`` is complete (Alembic and tests use it)."""

from __future__ import annotations

from inspect_core.audit.models import AuditEvent
from inspect_core.auth.models import ApiToken, User, UserRegion
from inspect_core.credit.models import (
    CreditEvent,
    CreditRating,
    CreditRepair,
    CreditWithdrawal,
    ScoringModel,
    ScoringRun,
)
from inspect_core.db import Base
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.imports.models import Import
from inspect_core.inspectors.models import ConflictOfInterest, Inspector, InspectorQualification
from inspect_core.plans.models import Draw, Plan, PoolSnapshot, Task, TaskAssignment
from inspect_core.results.models import (
    Attachment,
    CalendarDay,
    Disclosure,
    IdempotencyRecord,
    Result,
)

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "CalendarDay",
    "Disclosure",
    "Draw",
    "IdempotencyRecord",
    "Import",
    "Plan",
    "PoolSnapshot",
    "Result",
    "Task",
    "TaskAssignment",
    "ConflictOfInterest",
    "CreditEvent",
    "CreditRating",
    "CreditRepair",
    "CreditWithdrawal",
    "ScoringModel",
    "ScoringRun",
    "Enterprise",
    "EnterpriseSector",
    "Inspector",
    "InspectorQualification",
    "User",
    "UserRegion",
    "metadata",
]
