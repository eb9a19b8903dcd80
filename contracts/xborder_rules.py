"""Cross-border rules shared by payments, FX and netting: party details and compliance.

Party maps (originator/beneficiary) carry ISO 20022 party fields with the schema's own length
limits, so whatever a contract accepts also exports as valid pacs.008. Compliance is checked at
block time on every payment: KYC valid, not sanctioned, not suspended, within the daily limit.

State: pay/used/<org>/<currency>/<YYYY-MM-DD> -> minor units paid out that block date.
"""

from __future__ import annotations

import re
from typing import Any

from contracts.amounts import add
from contracts.args import plain_text
from contracts.errors import ensure, fail
from contracts.registry import get_org
from contracts.runtime import Context
from contracts.wording import money

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


def with_defaults(details: dict[str, str], org: dict[str, Any]) -> dict[str, str]:
    """Fill the name and country from the registry when the caller left them out."""
    filled = dict(details)
    filled.setdefault("name", str(org.get("name") or org["id"])[:140])
    country = str(org.get("jurisdiction", ""))
    if _COUNTRY.match(country):
        filled.setdefault("country", country)
    return dict(sorted(filled.items()))


def require_compliant(ctx: Context, org_id: str) -> dict[str, Any]:
    """The party may take part in a payment at block time: KYC valid, unsanctioned, active."""
    org = get_org(ctx, org_id)
    ensure(not org.get("suspended", False), "ORG_SUSPENDED", f"organization {org_id} is suspended")
    ensure(not org.get("sanctioned", False), "SANCTIONED", f"organization {org_id} is sanctioned")
    expires = str(org.get("kyc_expires") or "")
    ensure(
        expires != "" and expires >= ctx.today(),
        "KYC_EXPIRED",
        f"KYC of {org_id} expired on {expires or '(none on file)'}, block date {ctx.today()}",
    )
    return org


def used_key(org_id: str, currency: str, day: str) -> str:
    return f"pay/used/{org_id}/{currency}/{day}"


def consume_daily_limit(ctx: Context, org: dict[str, Any], currency: str, amount: int) -> None:
    """Count `amount` against the payer's limit for `currency` on the block date."""
    key = used_key(org["id"], currency, ctx.today())
    used = add(int(ctx.get(key, 0)), amount, f"what {org['id']} paid in {currency} today")
    limit = dict(org.get("daily_limits") or {}).get(currency)
    if limit is not None and used > int(limit):
        fail(
            "DAILY_LIMIT_EXCEEDED",
            f"{org['id']} would pay {money(ctx, currency, used)} on {ctx.today()}, over its "
            f"limit of {money(ctx, currency, int(limit))}",
            {"currency": currency, "used": used, "limit": int(limit), "day": ctx.today()},
        )
    ctx.put(key, used)
