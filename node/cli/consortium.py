"""`tally node keygen|org-key|genesis|config`: set up a real consortium, keys kept apart.

Each bank runs `keygen` (its validator) and `org-key` (its organization's admin key) on its
own machine and sends only the public files; one bank (or each, to cross-check) runs
`genesis` over everyone's public files and all compare the printed hash out of band; each bank
then runs `config` and `tally node start`. See docs/tutorials/operator.md.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ledger.errors import TallyError
from ledger.genesis import KEY_ROLES, ORG_KINDS, load_genesis
from node.api.access import ACCESS_MODES
from node.cli.node import node_group
from node.keys import ValidatorKeys, load_keys, write_keys
from node.ops import consortium
from wallet.cli.common import json_option, local_errors

if TYPE_CHECKING:
    from node.ops.self_signed import TlsPair

F = TypeVar("F", bound=Callable[..., Any])
KEY_FILE = "validator.key"
PUBLIC_FILE = "validator.public.json"
ORG_FILE = "org.public.json"


def _write_public(path: Path, value: Any, force: bool = False) -> None:
    """A public file (mode 0644), replaced atomically so a reader never sees half of it."""
    if path.exists() and not force:
        raise TallyError("FILE_EXISTS", f"{path} already exists (use --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    os.chmod(temporary, 0o644)
    temporary.replace(path)


@node_group.command("keygen")
@click.option("--name", required=True, help="Validator name, e.g. validator-bank-x.")
@click.option("--org", required=True, help="The bank that runs it, e.g. bank-x.")
@click.option("--p2p", required=True, help="host:port other validators dial (public address).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@json_option
@local_errors
def keygen(name: str, org: str, p2p: str, out_dir: str, json_output: bool) -> None:
    """Make this validator's Ed25519 and BLS keys: OUT/validator.key (secret, mode 0600) and
    OUT/validator.public.json (its genesis entry, to send to the other banks)."""
    directory = Path(out_dir)
    key_path, public_path = directory / KEY_FILE, directory / PUBLIC_FILE
    for path in (key_path, public_path):
        if path.exists():
            raise TallyError("FILE_EXISTS", f"{path} already exists; keys are never overwritten")
    keys = consortium.new_validator_keys(name)
    entry = consortium.validator_entry(keys, org, p2p)
    directory.mkdir(parents=True, exist_ok=True)
    write_keys(key_path, keys)
    _write_public(public_path, entry)
    if json_output:
        click.echo(
            json.dumps({"key_file": str(key_path), "public_file": str(public_path), **entry})
        )
        return
    click.echo(f"Wrote {key_path} (secret, mode 0600: never leaves this machine)")
    click.echo(f"Wrote {public_path} (send this to the other banks)")
    click.echo(f"  ed25519 {entry['ed25519']}")
    click.echo(f"  bls     {entry['bls'][:32]}...")


def _new_passphrase() -> str:
    given = os.environ.get("TALLY_PASSPHRASE")
    text: str = (
        given
        if given is not None
        else click.prompt("New passphrase", hide_input=True, confirmation_prompt=True)
    )
    if not text:
        raise TallyError("EMPTY_PASSPHRASE", "a keystore needs a non-empty passphrase")
    return text


@node_group.command("org-key")
@click.option("--org", "org_id", required=True, help="Organization id, e.g. bank-x.")
@click.option("--name", required=True, help="Display name, e.g. 'Bank X'.")
@click.option("--kind", type=click.Choice(ORG_KINDS), default="bank", show_default=True)
@click.option("--jurisdiction", default="", help="ISO country code, e.g. DE.")
@click.option("--kyc-expires", default="", help="YYYY-MM-DD; payments need a valid KYC.")
@click.option(
    "--role",
    "roles",
    type=click.Choice(KEY_ROLES),
    multiple=True,
    help="A key per role (repeatable).  [default: admin]",
)
@click.option("--kdf", type=click.Choice(["moderate", "interactive"]), default="moderate")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@json_option
@local_errors
def org_key(
    org_id: str,
    name: str,
    kind: str,
    jurisdiction: str,
    kyc_expires: str,
    roles: tuple[str, ...],
    kdf: str,
    out_dir: str,
    json_output: bool,
) -> None:
    """Make an organization's keys: OUT/ROLE.keystore.json (encrypted; passphrase from
    $TALLY_PASSPHRASE or a prompt) and OUT/org.public.json (its genesis `orgs[]` entry)."""
    from ledger.crypto import Ed25519Key
    from wallet import keystore

    directory = Path(out_dir)
    roles = tuple(dict.fromkeys(roles or ("admin",)))
    if "admin" not in roles:
        raise TallyError("BAD_ORG", "an organization needs an admin key (--role admin)")
    paths = {role: directory / f"{role}.keystore.json" for role in roles}
    for path in [*paths.values(), directory / ORG_FILE]:
        if path.exists():
            raise TallyError("FILE_EXISTS", f"{path} already exists; keys are never overwritten")
    keys = {role: Ed25519Key.generate() for role in roles}
    entry = consortium.org_entry(
        org_id,
        name,
        kind,
        jurisdiction,
        [(key.public, role) for role, key in keys.items()],
        kyc_expires,
    )
    passphrase = _new_passphrase()
    for role, key in keys.items():
        keystore.save_keystore(paths[role], key, passphrase, org=org_id, cost=keystore.COSTS[kdf])
    _write_public(directory / ORG_FILE, entry)
    if json_output:
        files = {role: str(path) for role, path in paths.items()}
        click.echo(json.dumps({"keystores": files, "public_file": str(directory / ORG_FILE)}))
        return
    for role, path in paths.items():
        click.echo(f"Wrote {path} ({role} key, encrypted, mode 0600)")
    click.echo(f"Wrote {directory / ORG_FILE} (send this to whoever assembles genesis)")


class _ListOptions(click.Command):
    """Lets `--validators a.json b.json c.json` take every file up to the next option."""

    list_options = ("--validators", "--orgs")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        current: str | None = None
        for arg in args:
            if arg.startswith("-"):
                current = arg if arg in self.list_options else None
                rewritten.append(arg)
            elif current is not None and rewritten[-1] != current:
                rewritten.extend([current, arg])
            else:
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


def _read_list(paths: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    return consortium.flatten_entries(
        ((path, consortium.read_public_json(Path(path))) for path in paths), what
    )


@node_group.command("genesis", cls=_ListOptions)
@click.option("--chain", required=True, help="Chain id, e.g. tally-main.")
@click.option("--validators", multiple=True, required=True, help="validator.public.json files.")
@click.option("--orgs", multiple=True, required=True, help="org.public.json files (or lists).")
@click.option("--currencies", type=click.Path(dir_okay=False), required=True)
@click.option("--params", type=click.Path(dir_okay=False), help="Genesis params (JSON object).")
@click.option("--time", "time_text", help="Genesis time, e.g. 2026-03-01T00:00:00Z [now].")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@click.option("--force", is_flag=True, help="Replace an existing OUT.")
@click.option("--membership", is_flag=True, help="Let governance add and remove validators later.")
@json_option
@local_errors
def genesis(
    chain: str,
    validators: tuple[str, ...],
    orgs: tuple[str, ...],
    currencies: str,
    params: str | None,
    time_text: str | None,
    out: str,
    force: bool,
    membership: bool,
    json_output: bool,
) -> None:
    """Assemble genesis.json from the banks' public files, validate it as a node would, and
    print the hash every bank compares out of band. Validators keep the order given."""
    time_ms = consortium.parse_time_ms(time_text) if time_text else int(time.time()) * 1000
    given_params = consortium.read_public_json(Path(params)) if params else {}
    if not isinstance(given_params, dict):
        raise TallyError("BAD_FILE", f"{params} must hold a JSON object")
    document, parsed = consortium.assemble_genesis(
        chain=chain,
        time_ms=time_ms,
        validators=_read_list(validators, "validator"),
        orgs=_read_list(orgs, "organization"),
        currencies=_read_list((currencies,), "currency"),
        params=given_params,
        membership=membership,
    )
    _write_public(Path(out), document, force=force)
    fingerprint = consortium.genesis_fingerprint(parsed)
    if json_output:
        click.echo(
            json.dumps(
                {
                    "path": out,
                    "chain": chain,
                    "time_ms": time_ms,
                    "hash": fingerprint,
                    "validators": [v.name for v in parsed.validators],
                    "f": parsed.f,
                }
            )
        )
        return
    n = len(parsed.validators)
    click.echo(f"Wrote {out}: chain {chain}, {n} validators (tolerates f={parsed.f} faulty)")
    for index, validator in enumerate(parsed.validators):
        click.echo(f"  {index}  {validator.name:<24} {validator.org:<12} {validator.p2p}")
    click.echo(f"  {len(parsed.orgs)} organizations, {len(parsed.currencies)} currencies")
    click.echo(f"  time {consortium.format_time_ms(time_ms)} (reproduce with --time)")
    click.echo(f"Genesis hash: {fingerprint}")
    click.echo("Every bank compares this hash out of band before starting its node.")


@node_group.command("config")
@click.option("--name", required=True, help="This validator's name in genesis.")
@click.option("--genesis", "genesis_path", required=True, help="Path to genesis.json.")
@click.option("--key", "key_path", required=True, help="Path to validator.key.")
@click.option("--api", default="127.0.0.1:8700", show_default=True, help="API host:port.")
@click.option("--p2p", default="0.0.0.0:26600", show_default=True, help="P2P listen host:port.")
@click.option("--data-dir", default="data", show_default=True)
@click.option(
    "--log-level", type=click.Choice(consortium.LOG_LEVELS), default="INFO", show_default=True
)
@click.option(
    "--access",
    type=click.Choice(ACCESS_MODES),
    default="members",
    show_default=True,
    help="members: only signed requests of registered organizations; open: development only.",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="node.toml to write.")
@click.option("--force", is_flag=True, help="Replace an existing OUT (and TLS pair).")
@click.option(
    "--self-signed-tls",
    is_flag=True,
    help="Write a self-signed tls.crt/tls.key beside OUT and serve the API over https "
    "(a test consortium; clients trust tls.crt).",
)
@json_option
@local_errors
def config(
    name: str,
    genesis_path: str,
    key_path: str,
    api: str,
    p2p: str,
    data_dir: str,
    log_level: str,
    access: str,
    out: str,
    force: bool,
    self_signed_tls: bool,
    json_output: bool,
) -> None:
    """Write a documented node.toml. Paths are written as given and, as in node.toml, a
    relative one is relative to OUT's folder (so a container's absolute paths stay as they
    are). The genesis and key files are checked when they exist there."""
    target = Path(out)
    if target.exists() and not force:
        raise TallyError("FILE_EXISTS", f"{target} already exists (use --force to replace it)")
    api_address = consortium.parse_host_port(api, "--api")
    p2p_address = consortium.parse_host_port(p2p, "--p2p")
    genesis_file = target.parent / genesis_path  # an absolute path replaces the folder
    key_file = target.parent / key_path
    warnings: list[str] = []
    if genesis_file.exists():
        keys: ValidatorKeys | None = load_keys(key_file) if key_file.exists() else None
        warnings += consortium.check_node_files(load_genesis(genesis_file), name, keys, p2p_address)
        if keys is None:
            warnings.append(f"{key_file} is not there yet; it is checked when the node starts")
    else:
        warnings.append(f"{genesis_file} is not there yet; it is checked when the node starts")
    target.parent.mkdir(parents=True, exist_ok=True)
    tls = _self_signed(target.parent, api_address.host, force) if self_signed_tls else None
    text = consortium.render_node_config(
        name=name,
        genesis=genesis_path,
        key_file=key_path,
        data_dir=data_dir,
        api=api_address,
        p2p_listen=p2p_address,
        log_level=log_level,
        access=access,
        tls=None if tls is None else (tls.cert.name, tls.key.name),
    )
    target.write_text(text, encoding="utf-8")
    written = {} if tls is None else {"tls_cert": str(tls.cert), "tls_key": str(tls.key)}
    if json_output:
        click.echo(json.dumps({"path": str(target), **written, "warnings": warnings}))
        return
    click.echo(f"Wrote {target}")
    if tls is not None:
        click.echo(f"Wrote {tls.cert} and {tls.key}: clients trust {tls.cert.name} for https")
    for warning in warnings:
        click.echo(f"  warning: {warning}", err=True)
    click.echo(f"Start with: tally node start --config {target}")


def _self_signed(folder: Path, host: str, force: bool) -> TlsPair:
    from node.ops import self_signed  # cryptography loads only for the command that needs it

    for name in (self_signed.CERT_FILE, self_signed.KEY_FILE):
        if (folder / name).exists() and not force:
            raise TallyError("FILE_EXISTS", f"{folder / name} already exists (use --force)")
    return self_signed.write_self_signed(folder, host)


# The commands join `tally node`, which node.cli.node mounts.
COMMANDS: list[click.Command] = []
