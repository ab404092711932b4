"""The answers Art. 12 requires in words: a refusal (12(4)) and an extension (12(3)).

Plain text, drawn from the map, so the supervisory authority named is the one the map declares.
"""

from __future__ import annotations

from datavow.datamap import LoadedMap
from datavow.errors import RequestError
from datavow.requests.lifecycle import RequestKind, RequestRecord, Status

_RIGHT = {
    RequestKind.access: "access to your personal data (Art. 15 GDPR)",
    RequestKind.erasure: "erasure of your personal data (Art. 17 GDPR)",
    RequestKind.rectification: "rectification of your personal data (Art. 16 GDPR)",
    RequestKind.restriction: "restriction of the processing of your personal data (Art. 18 GDPR)",
    RequestKind.objection: "objection to the processing of your personal data (Art. 21 GDPR)",
    RequestKind.portability: "a portable copy of your personal data (Art. 20 GDPR)",
}


def denial_letter(loaded: LoadedMap, record: RequestRecord) -> str:
    """Why the request is refused, and the person's right to complain to a supervisory authority
    and to go to court (Art. 12(4), 77, 79)."""
    if record.status is not Status.denied or not record.denied_reason:
        raise RequestError(f"request {record.id} is {record.status.value}, not denied: there is no refusal to write")
    lines = [
        *_opening(loaded, record),
        "We will not act on it, for this reason:",
        "",
        f"    {record.denied_reason}",
        "",
        *_complaint(loaded),
        "",
        *_signature(loaded),
    ]
    return "\n".join(lines) + "\n"


def extension_letter(loaded: LoadedMap, record: RequestRecord) -> str:
    """Telling the person, within the first month, that the answer will take longer and why
    (Art. 12(3))."""
    if record.extended_to is None or not record.extension_reason:
        raise RequestError(f"request {record.id} was not extended: there is no extension to announce")
    lines = [
        *_opening(loaded, record),
        f"We need more time to answer it. We will answer by {record.extended_to:%d %B %Y}, instead of "
        f"{record.due_at:%d %B %Y}, for this reason:",
        "",
        f"    {record.extension_reason}",
        "",
        *_complaint(loaded),
        "",
        *_signature(loaded),
    ]
    return "\n".join(lines) + "\n"


def _opening(loaded: LoadedMap, record: RequestRecord) -> list[str]:
    return [
        "Dear Sir or Madam,",
        "",
        f"On {record.received_at:%d %B %Y}, {loaded.model.organization.name} received your request for "
        f"{_RIGHT[record.kind]} (our reference: request {record.id}).",
        "",
    ]


def _complaint(loaded: LoadedMap) -> list[str]:
    authority = loaded.model.organization.supervisory_authority
    where = "a supervisory authority, in particular in the EU Member State where you live, work or where you think the "
    where += "law was broken"
    if authority is not None:
        reach = ", ".join(part for part in (authority.url, authority.email) if part)
        where = f"the supervisory authority, {authority.name}" + (f" ({reach})" if reach else "") + ", or " + where
    return [
        f"You have the right to lodge a complaint with {where} (Art. 77 GDPR), and to seek a judicial remedy "
        "(Art. 79 GDPR).",
    ]


def _signature(loaded: LoadedMap) -> list[str]:
    organization = loaded.model.organization
    contact = organization.dpo or organization.contact
    reach = ", ".join(part for part in (contact.email, contact.phone) if part)
    return ["Kind regards,", organization.name + (f" ({reach})" if reach else "")]
