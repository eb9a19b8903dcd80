"""RFC 9421 HTTP Message Signatures in the one profile DESIGN.md §9 fixes, with RFC 9530 digests.

Every API request in `members` mode covers `("@method" "@path" "@query" "content-digest")` with
`created`, `keyid` (the hex Ed25519 public key) and `alg="ed25519"`. The SDK signs with
`sign_headers` and the node checks with `verify_request`; both build the signature base here, so
the two cannot drift. It is written here rather than taken from a general RFC 9421 library
because the profile is small and fixed: refusing every other shape is part of the check, and a
general library spent ~4x the time per request (docs/benchmarks.md). The tests sign with an
independent implementation to keep this honest.

Paths and queries are compared as sent (percent-encoding kept), so both sides use the raw
request target.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ledger.crypto import ED25519_PUBLIC_SIZE, ed25519_verify
from ledger.errors import TallyError

LABEL = "sig1"
COVERED = ("@method", "@path", "@query", "content-digest")
ALGORITHM = "ed25519"
MAX_SKEW_S = 300

UNAUTHENTICATED = "UNAUTHENTICATED"
STALE_SIGNATURE = "STALE_SIGNATURE"
DIGEST_MISMATCH = "DIGEST_MISMATCH"

# A signed header longer than this is not one of ours; refusing it bounds the parsing work.
MAX_HEADER_CHARS = 1024

Sign = Callable[[bytes], bytes]


class SignatureRefused(TallyError):
    """A request whose signature does not hold; `code` is one of the three above."""


@dataclass(frozen=True, slots=True)
class SignedBy:
    """What a signature that holds proves: this key signed this request at `created`."""

    public: bytes
    created: int


def content_digest(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` value of `body`: `sha-256=:BASE64:`."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def signature_params(created: int, keyid: str) -> str:
    """The serialized `sig1` parameters, as they go into `Signature-Input` and the base."""
    components = " ".join(f'"{name}"' for name in COVERED)
    return f'({components});created={created};keyid="{keyid}";alg="{ALGORITHM}"'


def split_target(target: str) -> tuple[str, str]:
    """`/v1/x?a=1` -> (`/v1/x`, `a=1`): the raw path and query of a request target."""
    path, _, query = target.partition("?")
    return path or "/", query


def signature_base(method: str, target: str, digest: str, params: str) -> bytes:
    """The RFC 9421 §2.5 signature base for the covered components of one request."""
    path, query = split_target(target)
    lines = (
        f'"@method": {method.upper()}',
        f'"@path": {path}',
        f'"@query": ?{query}',
        f'"content-digest": {digest}',
        f'"@signature-params": {params}',
    )
    return "\n".join(lines).encode()


def sign_headers(
    public: bytes, sign: Sign, method: str, target: str, body: bytes, created: int
) -> dict[str, str]:
    """The three headers that sign one request; `sign` may be a keystore key or an HSM call."""
    digest = content_digest(body)
    params = signature_params(created, public.hex())
    signature = sign(signature_base(method, target, digest, params))
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params}",
        "Signature": f"{LABEL}=:{base64.b64encode(signature).decode()}:",
    }


def accept_signature() -> str:
    """RFC 9421 §5.1 `Accept-Signature` value a 401 sends: what a request must cover."""
    components = " ".join(f'"{name}"' for name in COVERED)
    return f'{LABEL}=({components});alg="{ALGORITHM}"'


# One dictionary member: `label=value`, the value running to the next top-level comma.
_MEMBER = re.compile(r'\s*([a-z*][a-z0-9_.*-]*)=((?:"(?:[^"\\]|\\.)*"|[^,"])*)\s*(?:,|$)')
_INNER_LIST = re.compile(r'^\(((?:\s*"[^"\\]*")*)\s*\)((?:;[a-z*][a-z0-9_.*-]*=[^;]*)*)$')
_COMPONENT = re.compile(r'"([^"\\]*)"')
_PARAM = re.compile(r';([a-z*][a-z0-9_.*-]*)=("(?:[^"\\]|\\.)*"|-?[0-9]{1,15})')
_BYTE_SEQUENCE = re.compile(r"^:([A-Za-z0-9+/=]*):$")


def _refused(message: str, code: str = UNAUTHENTICATED) -> SignatureRefused:
    return SignatureRefused(code, message)


def _dictionary(value: str, header: str) -> dict[str, str]:
    """An RFC 8941 dictionary header split into its members (values left serialized)."""
    if len(value) > MAX_HEADER_CHARS:
        raise _refused(f"{header} is longer than {MAX_HEADER_CHARS} characters")
    members: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _MEMBER.match(value, position)
        if match is None or match.end() == position:
            raise _refused(f"{header} is not a structured dictionary")
        members.setdefault(match.group(1), match.group(2).strip())
        position = match.end()
    return members


def _parameters(params: str) -> dict[str, str | int]:
    parsed: dict[str, str | int] = {}
    for name, raw in _PARAM.findall(params):
        parsed[name] = raw[1:-1] if raw.startswith('"') else int(raw)
    return parsed


def _byte_sequence(value: str, header: str) -> bytes:
    match = _BYTE_SEQUENCE.match(value)
    if match is None:
        raise _refused(f"{header} is not a byte sequence (:BASE64:)")
    try:
        return base64.b64decode(match.group(1), validate=True)
    except binascii.Error:
        raise _refused(f"{header} is not valid base64") from None


def _signer_of(params: dict[str, str | int]) -> tuple[bytes, int]:
    keyid, created, alg = params.get("keyid"), params.get("created"), params.get("alg", ALGORITHM)
    if alg != ALGORITHM:
        raise _refused(f'alg must be "{ALGORITHM}"')
    if not isinstance(created, int):
        raise _refused("Signature-Input has no integer created")
    if not isinstance(keyid, str) or len(keyid) != 2 * ED25519_PUBLIC_SIZE:
        raise _refused("keyid must be the 64-hex-digit Ed25519 public key")
    try:
        return bytes.fromhex(keyid), created
    except ValueError:
        raise _refused("keyid must be the 64-hex-digit Ed25519 public key") from None


def _check_digest(headers: Mapping[str, str], body: bytes) -> str:
    value = headers.get("Content-Digest")
    if value is None:
        raise _refused("Content-Digest is missing (RFC 9530 sha-256 of the body)")
    sent = _dictionary(value, "Content-Digest").get("sha-256")
    if sent is None:
        raise _refused("Content-Digest has no sha-256 member")
    if _byte_sequence(sent, "Content-Digest") != hashlib.sha256(body).digest():
        raise _refused("Content-Digest does not match the body", DIGEST_MISMATCH)
    return value


def verify_request(
    method: str, target: str, headers: Mapping[str, str], body: bytes, now: float
) -> SignedBy:
    """Who signed this request, or SignatureRefused saying why not (DESIGN.md §9)."""
    signature_input, signature = headers.get("Signature-Input"), headers.get("Signature")
    if signature_input is None or signature is None:
        raise _refused("this node answers signed requests only (RFC 9421, DESIGN.md §9)")
    inputs = _dictionary(signature_input, "Signature-Input")
    signatures = _dictionary(signature, "Signature")
    label = LABEL if LABEL in inputs else next(iter(inputs), None)
    if label is None or label not in signatures:
        raise _refused("Signature and Signature-Input share no label")
    params = inputs[label]
    inner = _INNER_LIST.match(params)
    if inner is None:
        raise _refused("Signature-Input is not an inner list with parameters")
    if tuple(_COMPONENT.findall(inner.group(1))) != COVERED:
        raise _refused(f"the signature must cover exactly {' '.join(COVERED)}, in that order")
    public, created = _signer_of(_parameters(inner.group(2)))
    digest = _check_digest(headers, body)
    raw = _byte_sequence(signatures[label], "Signature")
    if not ed25519_verify(public, signature_base(method, target, digest, params), raw):
        raise _refused("the signature does not verify for this request and keyid")
    if abs(now - created) > MAX_SKEW_S:
        raise _refused(
            f"created is {int(now - created)} s from the node's clock (at most {MAX_SKEW_S})",
            STALE_SIGNATURE,
        )
    return SignedBy(public=public, created=created)
