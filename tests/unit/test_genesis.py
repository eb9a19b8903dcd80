"""Genesis loading: a good file loads; every kind of bad file is refused with an error that
names the problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ledger import codec
from ledger.errors import GenesisError, TallyError
from ledger.genesis import (
    DEFAULT_PARAMS,
    STATE_FORMAT,
    genesis_from_value,
    load_genesis,
    parse_genesis,
)
from ledger.hashing import sha256
from node.ops.devnet import make_devnet

SEED = b"genesis-tests"


@pytest.fixture(scope="module")
def raw4() -> dict[str, Any]:
    return make_devnet(4, seed=SEED).genesis


@pytest.fixture(scope="module")
def raw7() -> dict[str, Any]:
    return make_devnet(7, seed=SEED).genesis


def _error(raw: Any) -> str:
    with pytest.raises(GenesisError) as error:
        genesis_from_value(raw)
    assert error.value.code == "BAD_GENESIS"
    return error.value.message


def test_the_dev_cast_loads(raw4) -> None:
    genesis = genesis_from_value(copy.deepcopy(raw4))
    assert genesis.chain == "tally-dev"
    assert [v.org for v in genesis.validators] == ["bank-a", "bank-b", "bank-c", "bank-d"]
    assert (genesis.f, genesis.quorum) == (1, 3)
    assert genesis.currency("JPY").decimals == 0
    assert genesis.currency("XXX") is None
    assert genesis.params == DEFAULT_PARAMS
    assert genesis.validator_index(genesis.validators[2].ed25519) == 2
    assert genesis.validator_index(b"\x00" * 32) is None


def test_validators_hash_is_the_documented_encoding(raw4) -> None:
    genesis = genesis_from_value(copy.deepcopy(raw4))
    expected = sha256(codec.encode([[v.ed25519, v.bls] for v in genesis.validators]))
    assert genesis.validators_hash() == expected


def test_one_and_seven_validators_are_valid(raw7) -> None:
    assert genesis_from_value(make_devnet(1, seed=SEED).genesis).quorum == 1
    assert genesis_from_value(copy.deepcopy(raw7)).quorum == 5


@pytest.mark.parametrize("count", [2, 3, 5, 6])
def test_validator_counts_not_3f_plus_1_are_refused(raw7, count: int) -> None:
    raw = copy.deepcopy(raw7)
    raw["validators"] = raw["validators"][:count]
    assert f"{count} validators is not of the form 3f+1" in _error(raw)


def test_no_validators_is_refused(raw4) -> None:
    raw = copy.deepcopy(raw4)
    raw["validators"] = []
    assert "at least one validator" in _error(raw)


def test_duplicate_json_keys_are_refused(raw4) -> None:
    text = json.dumps(raw4)
    doubled = text.replace('"chain": "tally-dev"', '"chain": "tally-dev", "chain": "evil"', 1)
    assert doubled != text
    with pytest.raises(GenesisError) as error:
        parse_genesis(doubled)
    assert "duplicate key 'chain'" in error.value.message


def test_duplicate_keys_deep_inside_are_refused(raw4) -> None:
    text = json.dumps(raw4)
    doubled = text.replace('"decimals": 2', '"decimals": 2, "decimals": 4', 1)
    with pytest.raises(GenesisError) as error:
        parse_genesis(doubled)
    assert "duplicate key 'decimals'" in error.value.message


def test_a_swapped_proof_of_possession_is_refused(raw4) -> None:
    raw = copy.deepcopy(raw4)
    raw["validators"][1]["bls_pop"] = raw4["validators"][0]["bls_pop"]
    message = _error(raw)
    assert "validators[1]" in message
    assert "bad BLS proof of possession" in message


def test_a_signature_is_not_a_proof_of_possession(raw4) -> None:
    """A rogue key's owner cannot pass off some other signature as its PoP."""
    raw = copy.deepcopy(raw4)
    raw["validators"][2]["bls_pop"] = "c0" + "00" * 95  # the point at infinity
    assert "bad BLS proof of possession" in _error(raw)


def _set(path: str, value: Any):
    def change(raw: dict[str, Any]) -> None:
        parts = path.split(".")
        target: Any = raw
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if value is _DELETE:
            del target[last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return change


_DELETE = object()

# name -> (change, words the error must contain)
BAD = {
    "unknown_issuer": (_set("currencies.0.issuers", ["bank-z"]), "unknown issuer 'bank-z'"),
    "issuer_not_a_bank": (_set("currencies.0.issuers", ["acme-steel"]), "is not a bank"),
    "ed25519_not_hex": (
        _set("validators.0.ed25519", "zz" * 32),
        "validators[0].ed25519 is not hex",
    ),
    "ed25519_short": (_set("validators.0.ed25519", "ab" * 31), "must be 32 bytes, got 31"),
    "bls_not_hex": (_set("validators.3.bls", "xyz"), "validators[3].bls is not hex"),
    "pop_not_hex": (_set("validators.0.bls_pop", "g" * 192), "bls_pop is not hex"),
    "org_key_not_hex": (
        _set("orgs.4.keys.0.public", "not hex"),
        "orgs[4].keys[0].public is not hex",
    ),
    "org_key_not_string": (_set("orgs.4.keys.0.public", 42), "must be a hex string"),
    "missing_chain": (_set("chain", _DELETE), "missing 'chain'"),
    "empty_chain": (_set("chain", ""), "chain must be a non-empty string"),
    "negative_time": (_set("time_ms", -1), "time_ms must be an integer"),
    "validators_not_list": (_set("validators", {}), "validators must be a list"),
    "validator_missing_p2p": (_set("validators.0.p2p", _DELETE), "validators[0] is missing 'p2p'"),
    "bad_p2p": (_set("validators.0.p2p", "no port"), "validators[0].p2p must be host:port"),
    "validator_unknown_org": (_set("validators.0.org", "nobody"), "unknown organization 'nobody'"),
    "duplicate_validator_name": (
        _set("validators.1.name", "validator-bank-a"),
        "duplicate validator name",
    ),
    "bad_org_id": (_set("orgs.0.id", "Bank A"), "orgs[0].id must be lowercase"),
    "duplicate_org": (_set("orgs.1.id", "bank-a"), "duplicate organization id 'bank-a'"),
    "bad_org_kind": (_set("orgs.0.kind", "hedge-fund"), "orgs[0].kind must be one of"),
    "bad_role": (_set("orgs.0.keys.0.role", "root"), "orgs[0].keys[0].role must be one of"),
    "bad_currency_code": (_set("currencies.0.code", "cny"), "currencies[0].code must be ISO 4217"),
    "bad_decimals": (_set("currencies.0.decimals", 9), "currencies[0].decimals must be 0..4"),
    "duplicate_currency": (_set("currencies.1.code", "CNY"), "duplicate currency code 'CNY'"),
    "unknown_param": (_set("params", {"block_size": 5}), "unknown param 'block_size'"),
    "zero_param": (_set("params", {"window": 0}), "param 'window' must be a positive integer"),
    "bool_param": (_set("params", {"window": True}), "param 'window' must be a positive integer"),
    "bad_limits": (_set("orgs.0.daily_limits", {"CNY": -5}), "daily_limits"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_genesis_names_the_problem(raw4, name: str) -> None:
    change, words = BAD[name]
    raw = copy.deepcopy(raw4)
    change(raw)
    assert words in _error(raw)


def test_duplicate_org_key_is_refused(raw4) -> None:
    raw = copy.deepcopy(raw4)
    raw["orgs"][5]["keys"][0]["public"] = raw["orgs"][4]["keys"][0]["public"]
    assert "duplicate organization key" in _error(raw)


def test_not_an_object() -> None:
    assert "must be a JSON object" in _error([1, 2])


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text("{not json")
    with pytest.raises(GenesisError) as error:
        load_genesis(path)
    assert "not valid JSON" in error.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GenesisError) as error:
        load_genesis(tmp_path / "absent.json")
    assert "cannot read genesis file" in error.value.message


def test_load_from_file_and_hash_is_stable(tmp_path: Path, raw4) -> None:
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(raw4, indent=2))
    first = load_genesis(path)
    path.write_text(json.dumps(raw4))  # formatting does not change what the genesis is
    assert load_genesis(path).hash() == first.hash()
    changed = copy.deepcopy(raw4)
    changed["time_ms"] += 1
    assert genesis_from_value(changed).hash() != first.hash()


def test_a_first_release_genesis_is_refused_naming_the_release(raw4) -> None:
    first_release = copy.deepcopy(raw4)
    del first_release["state"]
    with pytest.raises(TallyError) as error:
        genesis_from_value(first_release)
    assert error.value.code == "GENESIS_FIRST_RELEASE"
    assert "first release" in error.value.message
    assert '"state": "smt-v1"' in error.value.message


def test_an_unknown_state_format_is_refused(raw4) -> None:
    assert raw4["state"] == STATE_FORMAT == "smt-v1"
    other = copy.deepcopy(raw4)
    other["state"] = "smt-v2"
    assert "state must be 'smt-v1'" in _error(other)


def test_localnet_and_consortium_genesis_carry_the_state_marker() -> None:
    from node.ops.consortium import assemble_genesis

    raw = make_devnet(1, seed=SEED).genesis
    document, parsed = assemble_genesis(
        chain="c",
        time_ms=raw["time_ms"],
        validators=raw["validators"],
        orgs=raw["orgs"],
        currencies=raw["currencies"],
    )
    assert document["state"] == STATE_FORMAT
    assert parsed.raw["state"] == STATE_FORMAT
