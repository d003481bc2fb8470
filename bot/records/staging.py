"""The staging tables a block of report rows is loaded into before the set-based upserts.

Temporary tables, made once per database connection and empty at the start of each block's
transaction: PostgreSQL fills them with `COPY` and empties them at commit; SQLite fills them with one
`executemany` (its fastest bulk path) and they are emptied before use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable

STAGING = MetaData()

# One row per distinct employee of the block; `slot` is how the block's enrolments refer to it.
EMPLOYEE_STAGE = Table(
    "import_employee", STAGING,
    Column("slot", Integer, primary_key=True, autoincrement=False),
    *(Column(name, String) for name in (
        "name", "phone", "email", "external_id", "ministry", "department", "organisation", "designation",
        "group", "district",
    )),
    Column("employee_id", Integer),  # found or inserted
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)  # fmt: skip

# One row per enrolment row of the block; `pos` is its place in the block (hence its line).
ENROLMENT_STAGE = Table(
    "import_enrolment", STAGING,
    Column("pos", Integer, primary_key=True, autoincrement=False),
    Column("slot", Integer, nullable=False),
    Column("course_id", Integer, nullable=False),
    Column("status", String, nullable=False),
    Column("progress", Integer, nullable=False),
    Column("mandatory", Boolean, nullable=False),
    Column("batch_id", String),
    Column("batch_end_date", Date),
    Column("enrolled_on", Date),
    Column("completed_on", Date),
    Column("certificate_generated", Boolean, nullable=False),
    Column("certificate_id", String),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)  # fmt: skip


def create_stages(connection: Connection) -> None:
    """Empty staging tables for this transaction (call it first in the transaction)."""
    if connection.dialect.name == "sqlite":
        # For this connection from now on: temporary tables in memory, a page cache that holds the
        # indexes a bulk import walks (the default is 2 MB), and a WAL of up to 64 MB between
        # checkpoints, so that an index page changed by every block is not copied back each time.
        connection.exec_driver_sql("PRAGMA temp_store = MEMORY")
        connection.exec_driver_sql("PRAGMA cache_size = -65536")
        connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 16384")
    for table in (EMPLOYEE_STAGE, ENROLMENT_STAGE):
        connection.execute(CreateTable(table, if_not_exists=True))
        if connection.dialect.name == "sqlite":  # PostgreSQL empties them at commit, and on rollback
            connection.execute(table.delete())


def load(connection: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Rows of plain values (dates as ISO text) into a staging table, by the backend's bulk path.

    A row holds the table's first columns in order; the later ones are worked out in SQL.
    """
    if not rows:
        return
    columns = [column.name for column in table.columns][: len(rows[0])]
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.cursor()
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))
