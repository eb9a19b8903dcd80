"""What the members-mode check costs per request: `python -m tests.support.bench_access`.

Times, each as the median of many runs on one core, what node/api/access.py does before a
handler runs: `verify_request` (parse the headers, SHA-256 of the body, one Ed25519
verification) and `caller_of_key` (two state reads from LevelDB: the key, then its
organization), for a GET and for a POST with a 4 KiB body. For scale, the same verification by
http-message-signatures (the tests' independent implementation). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ledger.crypto import Ed25519Key
from ledger.httpsig import sign_headers, verify_request
from node.api.access import caller_of_key
from tests.support.contract_chain import ContractChain

TARGET_GET = "/v1/receivables/" + "ab" * 32
TARGET_POST = "/v1/txs?wait=commit"


def median_us(run: Callable[[], object], runs: int) -> float:
    for _ in range(min(200, runs)):  # warm caches (LevelDB blocks, the interpreter)
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1000


def _library_verifier(key: Ed25519Key, target: str, body: bytes) -> Callable[[], object]:
    import requests
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms

    from tests.support.rfc9421 import signed_request

    public = Ed25519PublicKey.from_public_bytes(key.public)

    class Resolver(HTTPSignatureKeyResolver):
        def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
            return public

    method = "POST" if body else "GET"
    prepared = signed_request(key, method, "http://127.0.0.1:8700" + target, body or None)
    request = requests.Request(method, prepared.url, headers=dict(prepared.headers), data=body)
    received = request.prepare()
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=Resolver())
    return lambda: verifier.verify(received, body=body, max_age=None)


def _row(
    chain: ContractChain, key: Ed25519Key, name: str, target: str, body: bytes, runs: int
) -> tuple[float, float, float, float]:
    """Medians (µs) of: the check, the lookup, both, and the library's check of one request."""
    method = name.split()[0]
    now = int(time.time())
    headers = sign_headers(key.public, key.sign, method, target, body, now)

    def verify() -> object:
        return verify_request(method, target, headers, body, now)

    def both() -> object:
        return caller_of_key(chain.store, verify_request(method, target, headers, body, now).public)

    return (
        median_us(verify, runs),
        median_us(lambda: caller_of_key(chain.store, key.public), runs),
        median_us(both, runs),
        median_us(_library_verifier(key, target, body), max(runs // 5, 100)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        chain = ContractChain(Path(folder) / "db")
        key = chain.devnet.key("acme-steel", "operator")
        assert caller_of_key(chain.store, key.public) is not None
        rows = [
            (name, *_row(chain, key, name, target, body, runs))
            for name, target, body in (
                ("GET", TARGET_GET, b""),
                ("POST 4 KiB", TARGET_POST, bytes(4096)),
            )
        ]
        chain.close()
    print("request     verify_request  registry lookup  both   http-message-signatures verify")
    for name, verify_us, lookup_us, both_us, library_us in rows:
        print(
            f"{name:<11} {verify_us:>10.1f} µs {lookup_us:>12.1f} µs {both_us:>6.1f} µs"
            f" {library_us:>10.1f} µs"
        )


if __name__ == "__main__":
    main()
