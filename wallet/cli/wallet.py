"""`tally wallet new|import|export|list|balance`: keys in encrypted keystores (DESIGN.md §12).

Passphrases come from $TALLY_PASSPHRASE or a hidden prompt (asked twice when a new file is
written). Keystores live in $TALLY_KEYS or ~/.tally/keys unless a path is given. Output is for
people unless `--json`; every failure is `error: CODE: message` and exit status 1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from wallet import keystore
from wallet.amounts import format_amount
from wallet.cli.common import Session, client_options, find_localnet, json_option, local_errors
from wallet.localnet_keys import localnet_key

KDF_CHOICE = click.Choice(sorted(keystore.COSTS))


def keys_dir() -> Path:
    return Path(os.environ.get("TALLY_KEYS") or Path.home() / ".tally" / "keys")


def _passphrase(new: bool) -> str:
    """$TALLY_PASSPHRASE, or a hidden prompt (twice for a new keystore)."""
    given = os.environ.get("TALLY_PASSPHRASE")
    if given is not None:
        return given
    text: str = click.prompt(
        "New passphrase" if new else "Passphrase",
        hide_input=True,
        confirmation_prompt=new,
    )
    if new and not text:
        raise TallyError("EMPTY_PASSPHRASE", "a keystore needs a non-empty passphrase")
    return text


def _default_out(org: str, key: Ed25519Key) -> Path:
    stem = f"{org}-{key.public.hex()[:8]}" if org else key.public.hex()[:16]
    return keys_dir() / f"{stem}.json"


def _write(key: Ed25519Key, out: str | None, org: str, kdf: str, json_output: bool) -> None:
    path = Path(out) if out else _default_out(org, key)
    passphrase = _passphrase(new=True)
    keystore.save_keystore(path, key, passphrase, org=org, cost=keystore.COSTS[kdf])
    if json_output:
        click.echo(json.dumps({"path": str(path), "public": key.public.hex(), "org": org}))
    else:
        click.echo(f"Wrote {path} (mode 0600)")
        click.echo(f"public key: {key.public.hex()}")
        if org:
            click.echo(f"organization: {org}")


@click.group("wallet")
def wallet_group() -> None:
    """Keys in encrypted keystores, and balances."""


@wallet_group.command("new")
@click.option("--out", type=click.Path(dir_okay=False), help="Keystore file to write.")
@click.option("--org", default="", help="Organization the key belongs to (a label).")
@click.option("--kdf", type=KDF_CHOICE, default="moderate", show_default=True)
@json_option
@local_errors
def new(out: str | None, org: str, kdf: str, json_output: bool) -> None:
    """Generate an Ed25519 key and write it to an encrypted keystore."""
    _write(Ed25519Key.generate(), out, org, kdf, json_output)


def _localnet_key(org: str, role: str, localnet: str | None) -> Ed25519Key:
    net = find_localnet(localnet)
    if net is None:
        raise TallyError("NO_LOCALNET", "no localnet.json found (see --localnet)")
    return localnet_key(net, org, role)


def _seed(text: str) -> bytes:
    if text == "-":
        text = sys.stdin.readline()
    try:
        seed = bytes.fromhex(text.strip())
    except ValueError:
        raise TallyError("BAD_SEED", "the seed must be 64 hex characters") from None
    if len(seed) != 32:
        raise TallyError("BAD_SEED", f"the seed must be 32 bytes, got {len(seed)}")
    return seed


@wallet_group.command("import")
@click.option("--seed-hex", help="The 32-byte Ed25519 seed in hex ('-' reads it from stdin).")
@click.option("--from-localnet", "localnet_org", help="Take this organization's localnet key.")
@click.option(
    "--role",
    type=click.Choice(["admin", "operator", "viewer"]),
    default="operator",
    show_default=True,
    help="Which key of the localnet organization.",
)
@click.option("--localnet", help="Directory holding localnet.json.")
@click.option("--out", type=click.Path(dir_okay=False), help="Keystore file to write.")
@click.option("--org", default=None, help="Organization label (default: the localnet org).")
@click.option("--kdf", type=KDF_CHOICE, default="moderate", show_default=True)
@json_option
@local_errors
def import_key(
    seed_hex: str | None,
    localnet_org: str | None,
    role: str,
    localnet: str | None,
    out: str | None,
    org: str | None,
    kdf: str,
    json_output: bool,
) -> None:
    """Encrypt an existing key (a seed, or a localnet organization's key) into a keystore."""
    if (seed_hex is None) == (localnet_org is None):
        raise TallyError("BAD_USAGE", "give exactly one of --seed-hex or --from-localnet")
    if localnet_org is not None:
        key = _localnet_key(localnet_org, role, localnet)
        label = localnet_org if org is None else org
    else:
        key = Ed25519Key.from_seed(_seed(seed_hex or ""))
        label = org or ""
    _write(key, out, label, kdf, json_output)


@wallet_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reveal-seed", is_flag=True, help="Decrypt and print the secret seed.")
@click.option("--yes", is_flag=True, help="Do not ask before revealing the seed.")
@json_option
@local_errors
def export(file: str, reveal_seed: bool, yes: bool, json_output: bool) -> None:
    """Show a keystore's public key; with --reveal-seed, its secret seed too."""
    info = keystore.describe_keystore(keystore.read_keystore(file), file)
    result: dict[str, Any] = {
        "path": file,
        "public": info.public.hex(),
        "org": info.org,
        "uuid": info.uuid,
    }
    if reveal_seed:
        if not yes and not click.confirm(
            "The seed controls this key. Print it to the terminal?", default=False, err=True
        ):
            raise TallyError("CANCELLED", "seed not revealed")
        result["seed"] = keystore.load_keystore(file, _passphrase(new=False)).seed.hex()
    if json_output:
        click.echo(json.dumps(result))
        return
    click.echo(f"public key: {result['public']}")
    click.echo(f"organization: {result['org'] or '-'}")
    click.echo(f"uuid: {result['uuid']}")
    if "seed" in result:
        click.echo(f"seed: {result['seed']}")


@wallet_group.command("list")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@json_option
@local_errors
def list_keys(directory: str | None, json_output: bool) -> None:
    """Keystores in DIRECTORY (default $TALLY_KEYS or ~/.tally/keys)."""
    folder = Path(directory) if directory else keys_dir()
    found = keystore.list_keystores(folder) if folder.is_dir() else []
    rows = [{"path": k.path, "public": k.public.hex(), "org": k.org} for k in found]
    if json_output:
        click.echo(json.dumps({"directory": str(folder), "keys": rows}))
        return
    if not rows:
        click.echo(f"No keystores in {folder}.")
        return
    for row in rows:
        click.echo(f"{row['public']}  {row['org'] or '-':<16} {row['path']}")


@wallet_group.command("balance")
@click.argument("org")
@client_options(signing=False)
def balance(org: str, session: Session) -> None:
    """An organization's balance in every currency it holds."""
    record = session.client.org(org)
    balances = {code: int(minor) for code, minor in sorted(record.get("balances", {}).items())}
    rows = [
        {
            "currency": code,
            "minor": minor,
            "amount": format_amount(minor, session.decimals(code)),
        }
        for code, minor in balances.items()
    ]
    if session.json:
        session.output({"org": org, "balances": rows})
        return
    if not rows:
        click.echo(f"{org} holds no money.")
        return
    width = max(len(row["amount"]) for row in rows)
    click.echo(f"{org} holds:")
    for row in rows:
        click.echo(f"  {row['currency']}  {row['amount']:>{width}}")


COMMANDS = [wallet_group]
