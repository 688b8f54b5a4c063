"""Databases of their own on the session's server, for a test or a module: each is made brand-new (or
as a copy of another) under a name no other test uses, and dropped afterwards with its connections."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

from mnemo_dagster.store.server import DatabaseUrls


def admin(urls: DatabaseUrls, statement: str) -> None:
    """Run ``statement`` (CREATE or DROP DATABASE) on the maintenance database of ``urls``'s server."""
    with psycopg.connect(urls.libpq.replace("/mnemo?", "/postgres?"), autocommit=True) as conn:
        conn.execute(statement)


def database_urls(urls: DatabaseUrls, name: str) -> DatabaseUrls:
    """The session's ``urls`` with the index in database ``name`` (Dagster's storage stays where it is)."""
    return dataclasses.replace(
        urls,
        index=urls.index.replace("/mnemo?", f"/{name}?"),
        libpq=urls.libpq.replace("/mnemo?", f"/{name}?"),
    )


def database_name(urls: DatabaseUrls) -> str:
    """The name of the database that holds the index of ``urls``."""
    return str(make_url(urls.index).database)


@contextmanager
def new_database(urls: DatabaseUrls, *, copy_of: DatabaseUrls | None = None) -> Iterator[DatabaseUrls]:
    """A brand-new database of the session's server, or a copy of the index of ``copy_of`` (which
    nothing may be connected to), under a new name; ``urls`` with the index in it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{database_name(copy_of)}"' if copy_of is not None else ""
    admin(urls, f'CREATE DATABASE "{name}"{template}')
    try:
        yield database_urls(urls, name)
    finally:
        admin(urls, f'DROP DATABASE "{name}" WITH (FORCE)')
