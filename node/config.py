"""The node configuration file (TOML, read with tomllib).

Every field, with its default; relative paths are relative to the config file's folder:

    [node]
    name = "validator-bank-a"       # this validator's name in genesis.json (required)
    data_dir = "data"               # LevelDB folder for blocks, receipts and state
    genesis = "../genesis.json"     # the genesis file every validator shares (required)
    key_file = "validator.key"      # JSON validator keys, mode 0600 (see node/keys.py)
    log_level = "INFO"              # DEBUG, INFO, WARNING or ERROR

    [api]
    host = "127.0.0.1"              # HTTP API listen address
    port = 8700                     # HTTP API port
    access = "members"              # "members": every request signed (RFC 9421, DESIGN.md §9)
                                    # by a registered organization key; "open": development only
    open_probes = true              # GET /healthz and /metrics answer unsigned in members mode
    tls_cert = "tls.crt"            # no default: with tls_key (both or neither) the API serves
    tls_key = "tls.key"             # https with this PEM certificate and key (node/api/tls.py)
    max_body_bytes = 16777216       # largest accepted request body
    max_connections = 512           # open connections; the oldest idle one makes room
    header_timeout_s = 10.0         # to send a complete request head (silent sockets, slowloris)
    keepalive_timeout_s = 30.0      # an idle keep-alive connection is closed after this
    body_timeout_s = 30.0           # to send a whole request body (408 BODY_TIMEOUT)
    send_timeout_s = 30.0           # a client that stops reading its answer is cut off after this
    read_threads = 1                # threads running heavy reads (blocks, proofs...) off the loop
    max_heavy_reads = 8             # heavy reads admitted at once; more get 503 BUSY
    answer_max_bytes = 4194304      # a listing stops adding rows here; `next` continues
    max_stream_clients = 32         # concurrent GET /v1/stream subscribers; more get 503 BUSY
    max_json_depth = 32             # deepest nesting in a JSON body (400 BAD_JSON)
    max_document_bytes = 4194304    # largest invoice document kept encrypted (413 above it)

    [p2p]
    listen = "127.0.0.1:26600"      # validator-to-validator listen address (host:port)

    [state]
    retain_heights = 1000           # state proofs answer for the last N heights; 0 keeps all
    snapshot_behind_heights = 512   # at start, restore the state by snapshot from peers when
                                    # one is more than N heights ahead (or we are empty); 0: never

Why each [api] limit exists, and what a client sees when it hits one: node/api/limits.py.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import TallyError
from node.api.access import ACCESS_MODES, ApiAccess
from node.api.limits import ApiLimits
from node.api.tls import ApiTls

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_RETAIN_HEIGHTS = 1000
DEFAULT_SNAPSHOT_BEHIND = 512


class ConfigError(TallyError):
    def __init__(self, message: str) -> None:
        super().__init__("BAD_CONFIG", message)


@dataclass(frozen=True, slots=True)
class NodeConfig:
    name: str
    data_dir: Path
    genesis: Path
    key_file: Path
    log_level: str
    api_host: str
    api_port: int
    api_limits: ApiLimits
    api_access: ApiAccess
    p2p_listen: str
    state_retain_heights: int | None = DEFAULT_RETAIN_HEIGHTS  # None: every height provable
    snapshot_behind_heights: int = DEFAULT_SNAPSHOT_BEHIND  # 0: never snapshot, replay only
    api_tls: ApiTls | None = None  # None: plain http

    @property
    def api_scheme(self) -> str:
        return "http" if self.api_tls is None else "https"


def _get(table: dict[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{where}.{key} is required")
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}.{key} must be a {kind.__name__}")
    return value


def _api_limits(api: dict[str, Any]) -> ApiLimits:
    """The [api] limits, each defaulting to ApiLimits' value; seconds may be int or float."""
    defaults = ApiLimits()
    values: dict[str, Any] = {}
    for name in ApiLimits.__dataclass_fields__:
        default = getattr(defaults, name)
        if isinstance(default, float) and isinstance(api.get(name), int):
            values[name] = float(_get(api, name, int, default, "api"))
        else:
            values[name] = _get(api, name, type(default), default, "api")
    limits = ApiLimits(**values)
    problems = limits.check()
    if problems:
        raise ConfigError("api." + problems[0])
    return limits


def _api_access(api: dict[str, Any]) -> ApiAccess:
    """`[api] access` ("members", the default, or "open") and `open_probes`."""
    mode = _get(api, "access", str, "members", "api")
    if mode not in ACCESS_MODES:
        raise ConfigError(f"api.access must be one of {', '.join(ACCESS_MODES)}, not {mode!r}")
    open_probes = _get(api, "open_probes", bool, True, "api")
    return ApiAccess(mode="open" if mode == "open" else "members", open_probes=open_probes)


def _api_tls(api: dict[str, Any], base: Path) -> ApiTls | None:
    """`[api] tls_cert` and `tls_key`, both or neither, checked now by loading the pair."""
    cert = _get(api, "tls_cert", str, "", "api")
    key = _get(api, "tls_key", str, "", "api")
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("api.tls_cert and api.tls_key go together: set both or neither")
    tls = ApiTls(cert=base / cert, key=base / key)
    try:
        tls.server_context()
    except TallyError as refusal:  # the pair's own words, as a ConfigError
        raise ConfigError(refusal.message) from None
    return tls


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    base = path.resolve().parent
    node = raw.get("node", {})
    api = raw.get("api", {})
    p2p = raw.get("p2p", {})
    state = raw.get("state", {})
    for name, table in (("node", node), ("api", api), ("p2p", p2p), ("state", state)):
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table")
    level = str(_get(node, "log_level", str, "INFO", "node")).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"node.log_level must be one of {', '.join(LOG_LEVELS)}")
    port = _get(api, "port", int, 8700, "api")
    if not 0 < port < 65536:
        raise ConfigError("api.port must be from 1 to 65535")
    retain = _get(state, "retain_heights", int, DEFAULT_RETAIN_HEIGHTS, "state")
    if retain < 0:
        raise ConfigError("state.retain_heights must be 0 (keep all) or a positive number")
    behind = _get(state, "snapshot_behind_heights", int, DEFAULT_SNAPSHOT_BEHIND, "state")
    if behind < 0:
        raise ConfigError("state.snapshot_behind_heights must be 0 (never) or a positive number")
    return NodeConfig(
        name=_get(node, "name", str, None, "node"),
        data_dir=base / _get(node, "data_dir", str, "data", "node"),
        genesis=base / _get(node, "genesis", str, None, "node"),
        key_file=base / _get(node, "key_file", str, "validator.key", "node"),
        log_level=level,
        api_host=_get(api, "host", str, "127.0.0.1", "api"),
        api_port=port,
        api_limits=_api_limits(api),
        api_access=_api_access(api),
        p2p_listen=_get(p2p, "listen", str, "127.0.0.1:26600", "p2p"),
        state_retain_heights=retain or None,
        snapshot_behind_heights=behind,
        api_tls=_api_tls(api, base),
    )


def render_config(
    *,
    name: str,
    genesis: str,
    api_port: int,
    p2p_listen: str,
    api_host: str = "127.0.0.1",
    api_access: str = "members",
) -> str:
    """A config file for `tally node init` and localnets, in the documented layout."""
    return (
        "[node]\n"
        f'name = "{name}"\n'
        'data_dir = "data"\n'
        f'genesis = "{genesis}"\n'
        'key_file = "validator.key"\n'
        'log_level = "INFO"\n\n'
        "[api]\n"
        f'host = "{api_host}"\n'
        f"port = {api_port}\n"
        f'access = "{api_access}"\n\n'
        "[p2p]\n"
        f'listen = "{p2p_listen}"\n'
    )


def with_snapshot_behind(text: str, heights: int) -> str:
    """A config file's text with `state.snapshot_behind_heights` set to `heights`: the line
    replaced where it is, else added under `[state]`, else in a new `[state]` section. For
    localnets, which change it on a node they wrote (an added validator, a bench's restart)."""
    line = f"snapshot_behind_heights = {heights}"
    lines = text.splitlines()
    stripped = [current.strip() for current in lines]
    for index, current in enumerate(stripped):
        if current.partition("=")[0].strip() == "snapshot_behind_heights":
            lines[index] = line
            return "\n".join(lines) + "\n"
    if "[state]" in stripped:
        lines.insert(stripped.index("[state]") + 1, line)
        return "\n".join(lines) + "\n"
    return text.rstrip("\n") + f"\n\n[state]\n{line}\n"
