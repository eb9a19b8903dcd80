"""TLS for the HTTP API: `[api] tls_cert` / `tls_key` of the node config (issue 15).

Signatures (node/api/access.py) prove who sent a request, but not what was read: without TLS
every answer, and every signed request's path, crosses the network in clear text. The pair is
loaded once at config time so a wrong path, an unreadable file or a key that does not match the
certificate is a coded `BAD_CONFIG` before the node opens its store, never a traceback at start.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import TallyError

# TLS 1.2 is the oldest version without known protocol breaks; 1.3 is preferred when offered.
MIN_VERSION = ssl.TLSVersion.TLSv1_2


def _refused(message: str) -> TallyError:
    """The configured certificate or key cannot serve TLS: node/config.py's BAD_CONFIG."""
    return TallyError("BAD_CONFIG", message)


@dataclass(frozen=True, slots=True)
class ApiTls:
    """The PEM certificate (chain) and private key the API serves https with."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server context holding the pair; BAD_CONFIG when the files do not make one."""
        for what, path in (("api.tls_cert", self.cert), ("api.tls_key", self.key)):
            if not path.is_file():
                raise _refused(f"{what}: {path} is not a file")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = MIN_VERSION
        try:
            context.load_cert_chain(self.cert, self.key, password=self._encrypted)
        except PermissionError:
            raise _refused(f"api.tls_cert/tls_key: cannot read {self.cert} or {self.key}") from None
        except ssl.SSLError as error:
            raise _refused(
                f"api.tls_cert/tls_key: {self.cert} and {self.key} are not a PEM certificate and "
                f"its private key ({error.reason or error})"
            ) from None
        return context

    def _encrypted(self) -> bytes:
        """OpenSSL asks for a passphrase: without this it would prompt on the terminal, and a
        node started by a service manager would hang there."""
        raise _refused(f"api.tls_key: {self.key} is encrypted; the node needs it unencrypted")
