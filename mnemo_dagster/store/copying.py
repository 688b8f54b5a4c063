"""Bulk appends with PostgreSQL's binary ``COPY``, inside a SQLAlchemy transaction.

An ``INSERT`` of a chunk row sends its 384 floats as text: pgvector formats every float with ``str``
in Python (about 0.3 ms a vector, two thirds of the writer's CPU) and PostgreSQL parses them back.
Binary ``COPY`` sends the vector as 1.5 KB of big-endian floats, and the whole file's rows in one
statement. On two cores every CPU second the writer saves goes back to the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from pgvector.psycopg.vector import VectorBinaryDumper
from psycopg.types import TypeInfo
from sqlalchemy import Connection, Table

_VECTOR_DUMPER = "mnemo_vector_dumper"
"""Key, in the pooled connection's ``info``, that marks the vector dumper as registered on it."""


def copy_rows(
    conn: Connection, table: Table, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]
) -> None:
    """Append ``rows`` to ``table`` in ``conn``'s transaction; ``columns`` are (name, PostgreSQL type)
    pairs in the rows' order (``vector`` takes anything numpy reads as floats)."""
    types = [kind for _, kind in columns]
    if "vector" in types:
        _register_vector_dumper(conn)
    names = ", ".join(f'"{name}"' for name, _ in columns)  # the schema's own names, not user input
    statement = f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)'
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise _as_sqlalchemy_error(conn, statement, exc) from exc


def _as_sqlalchemy_error(conn: Connection, statement: str, exc: psycopg.Error) -> sa.exc.DBAPIError:
    """The error SQLAlchemy raises for the same driver error on a statement it ran itself (a lost
    server reads as ``OperationalError``, so it is reported and retried like any other); a lost
    connection is dropped from the pool."""
    lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
    if lost:
        conn.invalidate(exc)
    return sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error, connection_invalidated=lost)


def _register_vector_dumper(conn: Connection) -> None:
    """Teach this connection's driver to send ``vector`` columns in binary (once per connection)."""
    pooled = conn.connection
    if pooled.info.get(_VECTOR_DUMPER):
        return
    driver = pooled.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        row = cursor.execute("SELECT 'vector'::regtype::oid").fetchone()
    assert row is not None
    # pgvector's own binary dumper, bound to this database's oid of ``vector`` (as ``set_types`` needs).
    dumper = type("VectorBinaryDumper", (VectorBinaryDumper,), {"oid": row[0]})
    driver.adapters.register_dumper(None, dumper)
    driver.adapters.types.add(TypeInfo("vector", row[0], 0))
    pooled.info[_VECTOR_DUMPER] = True


def fetch_tuples(conn: Connection, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """All rows of ``statement`` as plain tuples, fetched on the driver's cursor in ``conn``'s
    transaction: for bulk reads (a graph's 170k edges) SQLAlchemy's row objects cost more than the
    query."""
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(str(compiled), compiled.params)
        return cursor.fetchall()
