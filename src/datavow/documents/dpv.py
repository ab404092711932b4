"""W3C Data Privacy Vocabulary terms for the JSON-LD record of processing.

The terms were looked up in DPV 2 (``https://w3id.org/dpv#``) and its personal data extension
(``https://w3id.org/dpv/pd#``), not guessed. Purposes are found from a purpose's fideslang ``use`` and
data categories from their fideslang key, each by the nearest ancestor listed here; a use or a
category with none falls back to the generic ``dpv:Purpose`` or ``dpv:PersonalData``.
"""

from __future__ import annotations

from collections.abc import Mapping

from datavow.datamap.model import LegalBasis, MeasureKind

DPV = "https://w3id.org/dpv#"
PD = "https://w3id.org/dpv/pd#"

CONTEXT: dict[str, str] = {
    "dpv": DPV,
    "pd": PD,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "dct": "http://purl.org/dc/terms/",
}

# Art. 6(1)(a–f). DPV has no single "public task" term: (e) is the controller's official authority
# or a task in the public interest, and DPV names both halves.
LEGAL_BASES: Mapping[LegalBasis, tuple[str, ...]] = {
    LegalBasis.consent: ("dpv:Consent",),
    LegalBasis.contract: ("dpv:Contract",),
    LegalBasis.legal_obligation: ("dpv:LegalObligation",),
    LegalBasis.vital_interests: ("dpv:VitalInterest",),
    LegalBasis.public_task: ("dpv:PublicInterest", "dpv:OfficialAuthorityOfController"),
    LegalBasis.legitimate_interest: ("dpv:LegitimateInterest",),
}

# fideslang data use -> DPV purpose
_PURPOSES: Mapping[str, str] = {
    "essential": "dpv:ServiceProvision",
    "essential.service": "dpv:ServiceProvision",
    "essential.service.authentication": "dpv:IdentityAuthentication",
    "essential.service.security": "dpv:EnforceSecurity",
    "essential.service.fraud_detection": "dpv:FraudPreventionAndDetection",
    "essential.service.operations": "dpv:TechnicalServiceProvision",
    "essential.service.operations.support": "dpv:CustomerCare",
    "essential.service.operations.improve": "dpv:ImproveExistingProductsAndServices",
    "essential.service.payment_processing": "dpv:PaymentManagement",
    "essential.legal_obligation": "dpv:LegalCompliance",
    "functional.storage.privacy_preferences": "dpv:RecordManagement",
    "analytics": "dpv:ServiceUsageAnalytics",
    "marketing": "dpv:Marketing",
    "marketing.communications": "dpv:DirectMarketing",
    "marketing.advertising": "dpv:Advertising",
    "sales": "dpv:CustomerRelationshipManagement",
    "personalize": "dpv:ServicePersonalisation",
    "employment": "dpv:HumanResourceManagement",
    "employment.recruitment": "dpv:PersonnelHiring",
    "finance": "dpv:PaymentManagement",
}

# fideslang data category -> dpv-pd personal data category
_CATEGORIES: Mapping[str, str] = {
    "user.name": "pd:Name",
    "user.contact": "pd:Contact",
    "user.contact.email": "pd:EmailAddress",
    "user.contact.phone_number": "pd:TelephoneNumber",
    "user.contact.address": "pd:PhysicalAddress",
    "user.unique_id": "pd:UID",
    "user.account": "pd:Identifier",
    "user.job_title": "pd:Job",
    "user.workplace": "pd:WorkEnvironment",
    "user.authorization": "pd:Authenticating",
    "user.authorization.password": "pd:Password",
    "user.behavior": "pd:Behavioral",
    "user.behavior.login": "pd:AuthenticationHistory",
    "user.behavior.calls": "pd:CallLog",
    "user.device": "pd:DeviceBased",
    "user.device.ip_address": "pd:IPAddress",
    "user.device.cookie_id": "pd:Identifier",
    "user.content": "pd:Communication",
    "user.content.voicemail": "pd:VoiceMail",
    "user.demographic": "pd:Demographic",
    "user.demographic.date_of_birth": "pd:BirthDate",
    "user.demographic.education": "pd:Education",
    "user.demographic.language": "pd:Language",
    "user.financial": "pd:Financial",
    "user.financial.bank_account": "pd:BankAccount",
    "user.government_id": "pd:OfficialID",
    "user.government_id.national_identification_number": "pd:OfficialID",
    "user.privacy_preferences": "pd:PrivacyPreference",
    "user.health_and_medical": "pd:Health",
    "user.biometric": "pd:Biometric",
    "user.criminal_history": "pd:Criminal",
}

MEASURE_KINDS: Mapping[MeasureKind, str] = {
    MeasureKind.technical: "dpv:TechnicalMeasure",
    MeasureKind.organisational: "dpv:OrganisationalMeasure",
}


def _nearest(key: str, table: Mapping[str, str], fallback: str) -> str:
    parts = key.split(".")
    while parts:
        found = table.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return fallback


def purpose_term(use: str | None) -> str:
    """The DPV purpose for a fideslang data use (``dpv:Purpose`` when none is closer)."""
    return _nearest(use, _PURPOSES, "dpv:Purpose") if use else "dpv:Purpose"


def category_term(key: str) -> str:
    """The dpv-pd category for a fideslang data category (``dpv:PersonalData`` when none is closer)."""
    return _nearest(key, _CATEGORIES, "dpv:PersonalData")
