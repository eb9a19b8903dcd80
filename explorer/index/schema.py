"""The index's tables, as numbered migrations: a database says which version it is at.

Every statement is SQL that SQLite and PostgreSQL both accept. Amounts are BIGINT minor units
(the codec's integers are 64-bit); JSON columns are TEXT. The indexes are the ones the
explorer's filters and statements need: by organization, currency and height.
"""

from __future__ import annotations

from explorer.index.db import Database, IndexDbError

_V1 = (
    "CREATE TABLE index_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE blocks (
        height BIGINT PRIMARY KEY, hash TEXT NOT NULL, prev TEXT NOT NULL,
        time_ms BIGINT NOT NULL, proposer TEXT NOT NULL, view BIGINT NOT NULL,
        txs INTEGER NOT NULL, failed INTEGER NOT NULL, signers TEXT NOT NULL,
        state_root TEXT NOT NULL)""",
    "CREATE INDEX blocks_time ON blocks (time_ms)",
    """CREATE TABLE txs (
        id TEXT PRIMARY KEY, height BIGINT NOT NULL, idx INTEGER NOT NULL,
        time_ms BIGINT NOT NULL, contract TEXT NOT NULL, method TEXT NOT NULL,
        sender TEXT NOT NULL, sender_key TEXT NOT NULL, recipient TEXT NOT NULL,
        currency TEXT NOT NULL, amount BIGINT, status TEXT NOT NULL,
        error_code TEXT NOT NULL, error_message TEXT NOT NULL,
        args TEXT NOT NULL, result TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX txs_position ON txs (height, idx)",
    "CREATE INDEX txs_sender ON txs (sender, height)",
    "CREATE INDEX txs_recipient ON txs (recipient, height)",
    "CREATE INDEX txs_method ON txs (contract, method, height)",
    "CREATE INDEX txs_status ON txs (status, height)",
    "CREATE INDEX txs_currency ON txs (currency, height)",
    "CREATE INDEX txs_time ON txs (time_ms)",
    """CREATE TABLE events (
        height BIGINT NOT NULL, idx INTEGER NOT NULL, pos INTEGER NOT NULL,
        tx TEXT NOT NULL, contract TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (height, idx, pos))""",
    "CREATE INDEX events_type ON events (contract, type, height)",
    """CREATE TABLE movements (
        height BIGINT NOT NULL, idx INTEGER NOT NULL, pos INTEGER NOT NULL,
        tx TEXT NOT NULL, time_ms BIGINT NOT NULL, org TEXT NOT NULL,
        currency TEXT NOT NULL, amount BIGINT NOT NULL, counterparty TEXT NOT NULL,
        kind TEXT NOT NULL, balance BIGINT NOT NULL,
        PRIMARY KEY (height, idx, pos))""",
    "CREATE INDEX movements_org ON movements (org, currency, height, idx, pos)",
    "CREATE INDEX movements_org_time ON movements (org, currency, time_ms)",
    "CREATE INDEX movements_tx ON movements (tx)",
    """CREATE TABLE balances (
        org TEXT NOT NULL, currency TEXT NOT NULL, balance BIGINT NOT NULL,
        height BIGINT NOT NULL, PRIMARY KEY (org, currency))""",
    """CREATE TABLE org_keys (
        public_key TEXT PRIMARY KEY, org TEXT NOT NULL, role TEXT NOT NULL,
        height BIGINT NOT NULL)""",
    """CREATE TABLE pieces (
        id TEXT PRIMARY KEY, root TEXT NOT NULL, parent TEXT NOT NULL,
        invoice_no TEXT NOT NULL, creditor TEXT NOT NULL, debtor TEXT NOT NULL,
        holder TEXT NOT NULL, amount BIGINT NOT NULL, currency TEXT NOT NULL,
        due_date TEXT NOT NULL, status TEXT NOT NULL, height BIGINT NOT NULL,
        updated BIGINT NOT NULL)""",
    "CREATE INDEX pieces_holder ON pieces (holder)",
    "CREATE INDEX pieces_debtor ON pieces (debtor)",
    "CREATE INDEX pieces_invoice ON pieces (invoice_no)",
    """CREATE TABLE piece_history (
        height BIGINT NOT NULL, idx INTEGER NOT NULL, pos INTEGER NOT NULL,
        piece TEXT NOT NULL, tx TEXT NOT NULL, action TEXT NOT NULL,
        holder TEXT NOT NULL, amount BIGINT, PRIMARY KEY (height, idx, pos, piece))""",
    "CREATE INDEX piece_history_piece ON piece_history (piece, height)",
    """CREATE TABLE payments (
        id TEXT PRIMARY KEY, height BIGINT NOT NULL, tx TEXT NOT NULL,
        time_ms BIGINT NOT NULL, kind TEXT NOT NULL, payer TEXT NOT NULL,
        payee TEXT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL,
        credit_currency TEXT NOT NULL, credit BIGINT NOT NULL, dealer TEXT NOT NULL,
        quote TEXT NOT NULL)""",
    "CREATE INDEX payments_payer ON payments (payer, height)",
    "CREATE INDEX payments_payee ON payments (payee, height)",
    """CREATE TABLE fx_quotes (
        id TEXT PRIMARY KEY, height BIGINT NOT NULL, tx TEXT NOT NULL,
        dealer TEXT NOT NULL, base TEXT NOT NULL, quote TEXT NOT NULL,
        rate BIGINT NOT NULL, max_base BIGINT NOT NULL, used BIGINT NOT NULL,
        expires_ms BIGINT NOT NULL, status TEXT NOT NULL)""",
    "CREATE INDEX fx_quotes_pair ON fx_quotes (base, quote, height)",
    """CREATE TABLE netting_windows (
        id TEXT PRIMARY KEY, height BIGINT NOT NULL, tx TEXT NOT NULL,
        currency TEXT NOT NULL, participants TEXT NOT NULL, status TEXT NOT NULL,
        gross BIGINT NOT NULL, net BIGINT NOT NULL, positions TEXT NOT NULL,
        settled_height BIGINT)""",
    """CREATE TABLE netting_obligations (
        window_id TEXT NOT NULL, height BIGINT NOT NULL, idx INTEGER NOT NULL,
        pos INTEGER NOT NULL, tx TEXT NOT NULL, payer TEXT NOT NULL, payee TEXT NOT NULL,
        amount BIGINT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (height, idx, pos))""",
    "CREATE INDEX netting_obligations_window ON netting_obligations (window_id)",
    """CREATE TABLE proposals (
        id TEXT PRIMARY KEY, height BIGINT NOT NULL, tx TEXT NOT NULL,
        action TEXT NOT NULL, params TEXT NOT NULL, proposer TEXT NOT NULL,
        status TEXT NOT NULL, decided_height BIGINT)""",
    """CREATE TABLE proposal_approvals (
        proposal TEXT NOT NULL, org TEXT NOT NULL, height BIGINT NOT NULL,
        tx TEXT NOT NULL, PRIMARY KEY (proposal, org))""",
    """CREATE TABLE validator_changes (
        height BIGINT PRIMARY KEY, receipts TEXT NOT NULL)""",
)

# (version, statements): applied in order, each version in one transaction.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = ((1, _V1),)
LATEST = MIGRATIONS[-1][0]


def version(db: Database) -> int:
    """The schema version of `db`: 0 for an empty database."""
    db.execute("CREATE TABLE IF NOT EXISTS index_schema (version INTEGER NOT NULL)")
    row = db.one("SELECT MAX(version) FROM index_schema")
    return int(row[0]) if row and row[0] is not None else 0


def migrate(db: Database) -> int:
    """Bring `db` to the latest schema; refuses a database newer than this code."""
    with db.transaction():
        current = version(db)
    if current > LATEST:
        raise IndexDbError(
            "INDEX_SCHEMA_NEWER",
            f"the index is at schema version {current}, this tally knows up to {LATEST}",
        )
    for number, statements in MIGRATIONS:
        if number <= current:
            continue
        with db.transaction():
            for statement in statements:
                db.execute(statement)
            db.execute("INSERT INTO index_schema (version) VALUES (?)", (number,))
    return LATEST
