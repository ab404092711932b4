"""Data subject requests: their lifecycle and clocks, identity verification, and the
restriction/objection ledger.

::

    from datavow.requests import receive, send_code, check_code, start, complete

    record = receive(store, loaded, "erasure", {"email": "jane@example.com"}, source="data_subject", actor="agent:ann")
    send_code(store, loaded, record.id, "agent:ann")        # mails a 6-digit code
    check_code(store, record.id, "123456", "agent:ann")     # received -> verified
    execute(store, loaded, record.id, run, "system")        # in_progress, run(...), completed

One call each for what the front ends do: :func:`submit_request` (received, forwarded, or verified
and run), :func:`preview_request` (a dry run), :func:`restrict_person` and
:func:`lift_restriction` (the ledger and the map's restriction flags together) and
:func:`restriction_status`.

See ``docs/requests.md``.

Each name is imported when first used (:mod:`datavow.lazy`): a dry run reads
:mod:`datavow.requests.reading` without importing the lifecycle, the state store or the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datavow.lazy import lazy_names

if TYPE_CHECKING:
    from datavow.plan.identity_keys import Identities, IdentityKeys, canonical_identities
    from datavow.requests.lifecycle import (
        OPEN,
        TRANSITIONS,
        RequestKind,
        RequestRecord,
        Source,
        Status,
        complete,
        deny,
        due_soon,
        extend,
        find_requests,
        forward,
        get,
        list_requests,
        receive,
        request_identities,
        start,
        verify,
    )
    from datavow.requests.lifecycle.clock import DUE_SOON, due_date, end_of_period
    from datavow.requests.lifecycle.execute import Executor, execute
    from datavow.requests.lifecycle.letters import denial_letter, extension_letter
    from datavow.requests.lifecycle.verification import CodeSent, check_code, send_code
    from datavow.requests.mail import MailSettings, mail_settings, send_mail
    from datavow.requests.preview import Preview, preview_request
    from datavow.requests.restricting import (
        LiftedRestriction,
        Restricted,
        RestrictionStatus,
        flag_person,
        lift_restriction,
        restrict_person,
        restriction_status,
    )
    from datavow.requests.restriction import (
        Decision,
        LedgerKind,
        Lifted,
        Restriction,
        flag_targets,
        is_restricted,
        lift,
        object_to,
        restrict,
        restriction_allows,
        restriction_identities,
        restrictions_of,
    )
    from datavow.requests.submission import Outcome, Submitted, submit_request

__getattr__ = lazy_names(
    __name__,
    {
        "datavow.plan.identity_keys": ("Identities", "IdentityKeys", "canonical_identities"),
        "datavow.requests.lifecycle": (
            "OPEN",
            "TRANSITIONS",
            "RequestKind",
            "RequestRecord",
            "Source",
            "Status",
            "complete",
            "deny",
            "due_soon",
            "extend",
            "find_requests",
            "forward",
            "get",
            "list_requests",
            "receive",
            "request_identities",
            "start",
            "verify",
        ),
        "datavow.requests.lifecycle.clock": ("DUE_SOON", "due_date", "end_of_period"),
        "datavow.requests.lifecycle.execute": ("Executor", "execute"),
        "datavow.requests.lifecycle.letters": ("denial_letter", "extension_letter"),
        "datavow.requests.lifecycle.verification": ("CodeSent", "check_code", "send_code"),
        "datavow.requests.mail": ("MailSettings", "mail_settings", "send_mail"),
        "datavow.requests.preview": ("Preview", "preview_request"),
        "datavow.requests.restricting": (
            "LiftedRestriction",
            "Restricted",
            "RestrictionStatus",
            "flag_person",
            "lift_restriction",
            "restrict_person",
            "restriction_status",
        ),
        "datavow.requests.restriction": (
            "Decision",
            "LedgerKind",
            "Lifted",
            "Restriction",
            "flag_targets",
            "is_restricted",
            "lift",
            "object_to",
            "restrict",
            "restriction_allows",
            "restriction_identities",
            "restrictions_of",
        ),
        "datavow.requests.submission": ("Outcome", "Submitted", "submit_request"),
    },
)

__all__ = [
    "CodeSent",
    "DUE_SOON",
    "Decision",
    "Executor",
    "Identities",
    "IdentityKeys",
    "LedgerKind",
    "Lifted",
    "LiftedRestriction",
    "MailSettings",
    "OPEN",
    "Outcome",
    "Preview",
    "RequestKind",
    "RequestRecord",
    "Restricted",
    "Restriction",
    "RestrictionStatus",
    "Source",
    "Status",
    "Submitted",
    "TRANSITIONS",
    "canonical_identities",
    "check_code",
    "complete",
    "denial_letter",
    "deny",
    "due_date",
    "due_soon",
    "end_of_period",
    "execute",
    "extend",
    "extension_letter",
    "find_requests",
    "flag_person",
    "flag_targets",
    "forward",
    "get",
    "is_restricted",
    "lift",
    "lift_restriction",
    "list_requests",
    "mail_settings",
    "object_to",
    "preview_request",
    "receive",
    "request_identities",
    "restrict",
    "restrict_person",
    "restriction_allows",
    "restriction_identities",
    "restriction_status",
    "restrictions_of",
    "send_code",
    "send_mail",
    "start",
    "submit_request",
    "verify",
]
