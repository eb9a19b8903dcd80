"""The ISO 20022 details of a payment: party maps, purpose, and their registry defaults.

Party maps (originator/beneficiary) carry ISO 20022 party fields with the schema's own length
limits, so whatever a contract accepts also exports as valid pacs.008. Compliance (sanctions,
KYC, daily limits) is not here: it binds every contract, in contracts/compliance.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contracts.args import plain_text
from contracts.errors import fail

# ISO 20022 field -> maximum length (Max140Text, Max70Text, ...); see docs/cross-border.md.
PARTY_FIELDS: dict[str, int] = {
    "name": 140,  # Nm
    "street": 70,  # PstlAdr/StrtNm
    "building": 16,  # PstlAdr/BldgNb
    "postcode": 16,  # PstlAdr/PstCd
    "town": 35,  # PstlAdr/TwnNm
    "country": 2,  # PstlAdr/Ctry (ISO 3166 alpha-2)
    "address": 70,  # PstlAdr/AdrLine
    "account": 34,  # DbtrAcct/CdtrAcct: IBAN or other account id
    "lei": 20,  # Id/OrgId/LEI
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LEI = re.compile(r"^[A-Z0-9]{18}[0-9]{2}$")
_PURPOSE_CODE = re.compile(r"^[A-Z]{4}$")


def party(name: str, value: Any) -> dict[str, str]:
    """Validator for an originator/beneficiary map: known ISO fields, 1..max characters."""
    if not isinstance(value, dict):
        fail("BAD_ARGUMENT", f"argument {name!r} must be a map of party fields")
    clean: dict[str, str] = {}
    for key in sorted(value):
        item = value[key]
        limit = PARTY_FIELDS.get(key)
        if limit is None:
            fail("BAD_ARGUMENT", f"{name}.{key} is not a party field ({', '.join(PARTY_FIELDS)})")
        ok = isinstance(item, str) and 1 <= len(item) <= limit
        if not ok or item.strip() != item:
            fail("BAD_ARGUMENT", f"{name}.{key} must be trimmed text of 1 to {limit} characters")
        clean[key] = plain_text(f"{name}.{key}", item)
    if "country" in clean and not _COUNTRY.match(clean["country"]):
        fail("BAD_ARGUMENT", f"{name}.country must be an ISO 3166 two-letter code")
    if "lei" in clean and not _LEI.match(clean["lei"]):
        fail("BAD_ARGUMENT", f"{name}.lei must be a 20-character LEI")
    return clean


def purpose(name: str, value: Any) -> str:
    """An ISO purpose code (4 capitals, e.g. GDDS) or a proprietary purpose of up to 35 chars."""
    ok = isinstance(value, str) and 1 <= len(value) <= 35 and value.strip() == value
    if not ok:
        fail("BAD_ARGUMENT", f"argument {name!r} must be a purpose code or text of 1 to 35 chars")
    return plain_text(name, str(value))


def is_purpose_code(value: str) -> bool:
    return bool(_PURPOSE_CODE.match(value))


def with_defaults(details: dict[str, str], org: Mapping[str, Any]) -> dict[str, str]:
    """Fill the name and country from the registry when the caller left them out."""
    filled = dict(details)
    filled.setdefault("name", str(org.get("name") or org["id"])[:140])
    country = str(org.get("jurisdiction", ""))
    if _COUNTRY.match(country):
        filled.setdefault("country", country)
    return dict(sorted(filled.items()))
