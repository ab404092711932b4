"""datavow's own tables, as typed SQLAlchemy 2 models.

One module per noun (``audit``, ``requests``, ``restrictions``, ``consent``, ``incidents``, ``key``).
Every model module must be imported here so that ``Base.metadata`` is complete: Alembic's
autogenerate and the test that checks models against migrations both read it.
"""

from __future__ import annotations

from datavow.store.models.audit import HEAD_ID, AuditCheckpointRow, AuditEntryRow, AuditHeadRow
from datavow.store.models.base import Base, UTCDateTime
from datavow.store.models.consent import (
    CONSENT_HEAD_ID,
    ConsentEventIdentityRow,
    ConsentEventRow,
    ConsentHeadRow,
    ConsentImportedRow,
    ConsentImportRow,
    ConsentNoticeRow,
    ConsentStateRow,
)
from datavow.store.models.discoveries import RequestDiscoveryRow, RequestProgressRow
from datavow.store.models.incidents import IncidentNoticeRow, IncidentRow
from datavow.store.models.key import KEY_ROW_ID, StoreKeyRow
from datavow.store.models.offboarding import OffboardingRow
from datavow.store.models.requests import RequestIdentityRow, RequestRow, VerificationCodeRow
from datavow.store.models.restrictions import RestrictionIdentityRow, RestrictionRow
from datavow.store.models.retention import SweepLockRow, SweepRow

__all__ = [
    "HEAD_ID",
    "AuditCheckpointRow",
    "AuditEntryRow",
    "AuditHeadRow",
    "Base",
    "CONSENT_HEAD_ID",
    "ConsentEventIdentityRow",
    "ConsentEventRow",
    "ConsentHeadRow",
    "ConsentImportedRow",
    "ConsentImportRow",
    "ConsentNoticeRow",
    "ConsentStateRow",
    "IncidentNoticeRow",
    "IncidentRow",
    "KEY_ROW_ID",
    "OffboardingRow",
    "RequestDiscoveryRow",
    "RequestIdentityRow",
    "RequestProgressRow",
    "RequestRow",
    "RestrictionIdentityRow",
    "RestrictionRow",
    "SweepLockRow",
    "StoreKeyRow",
    "SweepRow",
    "UTCDateTime",
    "VerificationCodeRow",
]
