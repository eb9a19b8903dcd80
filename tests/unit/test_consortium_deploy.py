"""deploy/: the Dockerfile, compose file and example configs are correct without a Docker
engine (none runs on CI machines): structure, addresses, ports, and configs the node loads."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from ledger.genesis import DEFAULT_PARAMS
from node.config import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BANKS = ("bank-a", "bank-b", "bank-c", "bank-d")


def test_compose_runs_four_banks_on_static_addresses_of_one_network() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    subnet = ipaddress.ip_network(compose["networks"]["tally"]["ipam"]["config"][0]["subnet"])
    addresses, published = set(), set()
    for bank in BANKS:
        service = compose["services"][bank]
        assert service["image"] == "tallychain:latest"
        address = ipaddress.ip_address(service["networks"]["tally"]["ipv4_address"])
        assert address in subnet
        addresses.add(address)
        assert f"./{bank}/etc:/etc/tally:ro" in service["volumes"]
        assert f"{bank}-data:/var/lib/tally" in service["volumes"]
        assert f"{bank}-data" in compose["volumes"]
        published.update(port.split(":")[-2] for port in service["ports"])
    assert len(addresses) == len(BANKS) and len(published) == len(BANKS)


def test_dockerfile_is_slim_non_root_healthchecked_and_starts_the_node() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^EXPOSE 8700 26600$", text, re.M)
    assert "/healthz" in re.search(r"^HEALTHCHECK .*(?:\n\s+.*)*", text, re.M).group(0)  # type: ignore[union-attr]
    entry = re.search(r"^ENTRYPOINT (.*)$", text, re.M)
    assert entry is not None
    assert json.loads(entry.group(1)) == [
        "tally", "node", "start", "--config", "/etc/tally/node.toml"
    ]  # fmt: skip
    # Every package the project installs is copied into the image.
    pyproject = (DEPLOY.parent / "pyproject.toml").read_text()
    packages = re.search(r"include = \[(.*)\]", pyproject).group(1)  # type: ignore[union-attr]
    for package in re.findall(r'"(\w+)\*"', packages):
        assert f"COPY {package} ./{package}" in text


def test_example_node_config_loads_with_container_paths() -> None:
    config = load_config(DEPLOY / "examples" / "node.toml")
    assert config.genesis == Path("/etc/tally/genesis.json")
    assert config.key_file == Path("/etc/tally/validator.key")
    assert config.data_dir == Path("/var/lib/tally/data")
    assert (config.api_host, config.api_port, config.p2p_listen) == (
        "0.0.0.0",
        8700,
        "0.0.0.0:26600",
    )


def test_example_params_and_currencies_are_valid_genesis_inputs() -> None:
    params = json.loads((DEPLOY / "examples" / "params.json").read_text())
    assert set(params) <= set(DEFAULT_PARAMS)
    currencies = json.loads((DEPLOY / "examples" / "currencies.json").read_text())
    assert {c["code"] for c in currencies} >= {"CNY", "EUR", "USD"}
    assert all(c["issuers"][0] in BANKS for c in currencies)
