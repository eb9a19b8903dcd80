"""node/ops/consortium.py and `tally node keygen|org-key|genesis|config`, without starting nodes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.crypto import Ed25519Key
from ledger.genesis import load_genesis
from node.cli import tally
from node.config import load_config
from node.keys import load_keys
from node.ops import consortium
from node.ops.consortium import ConsortiumError


def _validators(count: int, org: str = "bank-a") -> list[dict[str, str]]:
    return [
        consortium.validator_entry(
            consortium.new_validator_keys(f"v{i}"), org if i == 0 else f"bank-{i}", f"10.0.0.{i}:1"
        )
        for i in range(count)
    ]


def _orgs(count: int) -> list[dict[str, object]]:
    return [
        consortium.org_entry(
            "bank-a" if i == 0 else f"bank-{i}",
            f"Bank {i}",
            "bank",
            "DE",
            [(bytes([i]) * 32, "admin")],
        )
        for i in range(count)
    ]


def _assemble(validators: list[dict[str, str]], orgs: list[dict[str, object]]) -> None:
    consortium.assemble_genesis(
        chain="c", time_ms=0, validators=validators, orgs=orgs, currencies=[]
    )


def test_assembled_genesis_validates_and_keeps_validator_order() -> None:
    validators = _validators(4)
    document, genesis = consortium.assemble_genesis(
        chain="tally-test",
        time_ms=1_000,
        validators=validators,
        orgs=_orgs(4),
        currencies=[{"code": "EUR", "decimals": 2, "issuers": ["bank-a"]}],
        params={"batch_ms": 20},
    )
    assert [v.name for v in genesis.validators] == ["v0", "v1", "v2", "v3"]
    assert genesis.params["batch_ms"] == 20
    assert consortium.genesis_fingerprint(genesis) == genesis.hash().hex()
    assert document["validators"] == validators


def test_genesis_refuses_a_file_with_secret_key_material() -> None:
    validators = _validators(1)
    validators[0] = {**validators[0], "ed25519_seed": "00" * 32}
    with pytest.raises(ConsortiumError) as caught:
        _assemble(validators, _orgs(1))
    assert caught.value.code == "SECRET_IN_PUBLIC_FILE"


def test_validators_must_be_run_by_banks() -> None:
    orgs = _orgs(1)
    orgs[0]["kind"] = "enterprise"
    with pytest.raises(ConsortiumError) as caught:
        _assemble(_validators(1), orgs)
    assert caught.value.code == "VALIDATOR_NOT_A_BANK"


def test_two_validators_cannot_share_a_p2p_address() -> None:
    validators = _validators(4)
    validators[1]["p2p"] = validators[0]["p2p"]
    with pytest.raises(ConsortiumError) as caught:
        _assemble(validators, _orgs(4))
    assert caught.value.code == "DUPLICATE_P2P"


def test_validator_count_must_be_3f_plus_1() -> None:
    with pytest.raises(Exception) as caught:
        _assemble(_validators(2), _orgs(2))
    assert getattr(caught.value, "code", "") == "BAD_GENESIS"


def test_bad_proof_of_possession_is_refused() -> None:
    validators = _validators(1)
    other = consortium.validator_entry(consortium.new_validator_keys("x"), "bank-a", "h:1")
    validators[0]["bls_pop"] = other["bls_pop"]
    with pytest.raises(Exception) as caught:
        _assemble(validators, _orgs(1))
    assert "proof of possession" in str(caught.value)


@pytest.mark.parametrize("text", ["nohost", "h:0", "h:70000", ":1", "a b:1"])
def test_bad_addresses_have_a_code(text: str) -> None:
    with pytest.raises(ConsortiumError) as caught:
        consortium.parse_host_port(text)
    assert caught.value.code == "BAD_ADDRESS"


def test_addresses_and_times_parse() -> None:
    assert str(consortium.parse_host_port("[::1]:8700")) == "[::1]:8700"
    assert consortium.parse_time_ms("1970-01-02") == 86_400_000
    assert consortium.parse_time_ms("1970-01-01T00:00:01Z") == 1_000
    assert consortium.format_time_ms(86_400_000) == "1970-01-02T00:00:00Z"
    for bad in ("yesterday", "2026-01-01T00:00:00"):
        with pytest.raises(ConsortiumError):
            consortium.parse_time_ms(bad)


def test_rendered_config_reads_back(tmp_path: Path) -> None:
    text = consortium.render_node_config(
        name='odd "name"',
        genesis="/etc/tally/genesis.json",
        key_file="keys/validator.key",
        data_dir="/var/lib/tally",
        api=consortium.parse_host_port("0.0.0.0:8700"),
        p2p_listen=consortium.parse_host_port("0.0.0.0:26600"),
        log_level="DEBUG",
    )
    (tmp_path / "node.toml").write_text(text)
    config = load_config(tmp_path / "node.toml")
    assert config.name == 'odd "name"'
    assert config.genesis == Path("/etc/tally/genesis.json")
    assert config.key_file == tmp_path / "keys/validator.key"
    assert (config.api_host, config.api_port, config.p2p_listen) == (
        "0.0.0.0",
        8700,
        "0.0.0.0:26600",
    )


def test_cli_keygen_org_key_genesis_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_PASSPHRASE", "correct horse")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(tally, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run(
        "node",
        "keygen",
        "--name",
        "validator-bank-a",
        "--org",
        "bank-a",
        "--p2p",
        "127.0.0.1:26600",
        "--out",
        "bank-a",
    )
    run(
        "node",
        "org-key",
        "--org",
        "bank-a",
        "--name",
        "Bank A",
        "--kdf",
        "interactive",
        "--role",
        "admin",
        "--role",
        "operator",
        "--out",
        "bank-a/org",
    )
    key_mode = stat.S_IMODE((tmp_path / "bank-a/validator.key").stat().st_mode)
    assert key_mode == 0o600
    assert stat.S_IMODE((tmp_path / "bank-a/org/admin.keystore.json").stat().st_mode) == 0o600
    public = json.loads((tmp_path / "bank-a/validator.public.json").read_text())
    assert set(public) == {"name", "org", "ed25519", "bls", "bls_pop", "p2p"}
    assert load_keys(tmp_path / "bank-a/validator.key").ed25519.public.hex() == public["ed25519"]
    org = json.loads((tmp_path / "bank-a/org/org.public.json").read_text())
    assert [k["role"] for k in org["keys"]] == ["admin", "operator"]
    Path("currencies.json").write_text('[{"code": "EUR", "decimals": 2, "issuers": ["bank-a"]}]')
    output = run(
        "node",
        "genesis",
        "--chain",
        "t",
        "--validators",
        "bank-a/validator.public.json",
        "--orgs",
        "bank-a/org/org.public.json",
        "--currencies",
        "currencies.json",
        "--time",
        "2026-03-01",
        "--out",
        "genesis.json",
    )
    genesis = load_genesis(tmp_path / "genesis.json")
    assert f"Genesis hash: {genesis.hash().hex()}" in output
    run(
        "node",
        "config",
        "--name",
        "validator-bank-a",
        "--genesis",
        "../genesis.json",
        "--key",
        "validator.key",
        "--api",
        "127.0.0.1:8701",
        "--p2p",
        "127.0.0.1:26600",
        "--out",
        "bank-a/node.toml",
    )
    config = load_config(tmp_path / "bank-a/node.toml")
    assert config.genesis.resolve() == (tmp_path / "genesis.json").resolve()
    assert config.api_port == 8701


def test_cli_never_overwrites_keys_and_reports_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["node", "keygen", "--name", "v", "--org", "bank-a", "--p2p", "h:1", "--out", "k"]
    assert runner.invoke(tally, args).exit_code == 0
    again = runner.invoke(tally, args)
    assert again.exit_code == 2 and "FILE_EXISTS" in again.output
    bad = runner.invoke(tally, [*args[:7], "nohost", "--out", "k2"])
    assert bad.exit_code == 2 and "BAD_ADDRESS" in bad.output
    leaked = runner.invoke(
        tally,
        [
            "node",
            "genesis",
            "--chain",
            "t",
            "--validators",
            "k/validator.key",
            "--orgs",
            "x",
            "--currencies",
            "x",
            "--out",
            "g.json",
        ],
    )
    assert leaked.exit_code == 2 and "SECRET_IN_PUBLIC_FILE" in leaked.output
    assert not (tmp_path / "g.json").exists()


def test_greedy_list_options_keep_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TALLY_PASSPHRASE", "pw")
    runner = CliRunner()
    files = []
    for index in range(4):
        runner.invoke(
            tally,
            [
                "node",
                "keygen",
                "--name",
                f"v{index}",
                "--org",
                f"bank-{index}",
                "--p2p",
                f"h:{index + 1}",
                "--out",
                f"b{index}",
            ],
        )
        files.append(f"b{index}/validator.public.json")
        admin = Ed25519Key.generate().public
        Path(f"o{index}.json").write_text(
            json.dumps(consortium.org_entry(f"bank-{index}", "B", "bank", "", [(admin, "admin")]))
        )
    Path("c.json").write_text("[]")
    result = runner.invoke(
        tally,
        [
            "node",
            "genesis",
            "--chain",
            "t",
            "--validators",
            *reversed(files),
            "--orgs",
            "o0.json",
            "o1.json",
            "o2.json",
            "o3.json",
            "--currencies",
            "c.json",
            "--out",
            "g.json",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["validators"] == ["v3", "v2", "v1", "v0"]


def test_a_joining_validators_config_is_written_on_a_membership_genesis_only() -> None:
    """`tally node config` for a validator governance will add: a warning that it follows until
    then (it was refused as NOT_A_VALIDATOR, so the operator steps could not be followed)."""
    validators = _validators(4)
    common = {"chain": "c", "time_ms": 0, "validators": validators, "orgs": _orgs(4)}
    _, fixed = consortium.assemble_genesis(**common, currencies=[])  # type: ignore[arg-type]
    _, changing = consortium.assemble_genesis(**common, currencies=[], membership=True)  # type: ignore[arg-type]
    listen = consortium.parse_host_port("0.0.0.0:26600", "--p2p")
    assert changing.membership and not fixed.membership
    (warning,) = consortium.check_node_files(changing, "validator-bank-e", None, listen)
    assert "follows the chain without voting until governance adds it" in warning
    with pytest.raises(ConsortiumError) as refused:
        consortium.check_node_files(fixed, "validator-bank-e", None, listen)
    assert refused.value.code == "NOT_A_VALIDATOR"
