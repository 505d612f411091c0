"""Many rows in one statement, inside the caller's transaction.

PostgreSQL: `INSERT … SELECT FROM unnest($1::type[], …)` — one array per column, so the statement has a
handful of parameters whatever the number of rows (asyncpg prepares it once and sends the arrays in binary),
where a multi-row VALUES would have thousands. SQLite: an executemany of the same INSERT.
Values must be plain Python values of the column's type (aware datetimes, UUIDs, dicts for JSON).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import JSON, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialect __init__ is unannotated


@functools.cache
def _pg_type(table: Table, name: str) -> str:
    return str(table.c[name].type.compile(dialect=_PG))


@functools.cache
def _is_json(table: Table, name: str) -> bool:
    return _pg_type(table, name) in ("JSONB", "JSON") or isinstance(table.c[name].type, JSON)


@functools.cache
def _sqlite_insert(table: Table, skip_conflicts_on: tuple[str, ...], returning: str | None,
                   skip_any_conflict: bool = False) -> Any:
    """SQLite's INSERT for `insert_rows`, built once per table and shape: the single feed endpoint's group commit
    runs one per group, and building it (and its cache key) cost as much as a few rows' parameters."""
    stmt = sqlite.insert(table)
    if skip_any_conflict:
        stmt = stmt.on_conflict_do_nothing()
    elif skip_conflicts_on:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    return stmt.returning(table.c[returning]) if returning else stmt


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *,
    skip_conflicts_on: Sequence[str] = (), returning: str | None = None, skip_any_conflict: bool = False,
) -> list[Any]:
    """Insert `rows` (all with the same keys); rows clashing on `skip_conflicts_on` (with `skip_any_conflict`: on
    any unique index) are skipped. Answers the `returning` column of the rows really inserted (empty without
    `returning`)."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        stmt = _sqlite_insert(table, tuple(skip_conflicts_on), returning, skip_any_conflict)
        if returning:
            return list((await session.execute(stmt, list(rows))).scalars())
        await session.execute(stmt, list(rows))
        return []
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    return await insert_columns(session, table, columns, skip_conflicts_on=skip_conflicts_on, returning=returning,
                                skip_any_conflict=skip_any_conflict)


async def insert_columns(
    session: AsyncSession, table: Table, columns: dict[str, list[Any]], *,
    skip_conflicts_on: Sequence[str] = (), returning: str | None = None, skip_any_conflict: bool = False,
) -> list[Any]:
    """`insert_rows` for callers that hold their values by column already (one list per column, all of
    one length): PostgreSQL takes the lists as they are; SQLite gets them as rows."""
    names_ = list(columns)
    count = len(columns[names_[0]]) if names_ else 0
    if not count:
        return []
    if session.get_bind().dialect.name != "postgresql":
        rows = [dict(zip(names_, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        return await insert_rows(session, table, rows, skip_conflicts_on=skip_conflicts_on, returning=returning,
                                 skip_any_conflict=skip_any_conflict)
    source = unnest_rows(table, columns)
    sql = _insert_sql(table, source, skip_conflicts_on, skip_any_conflict)
    if returning:
        sql += f' RETURNING "{returning}"'
        return list((await session.execute(_statement(sql), source.params)).scalars())
    await session.execute(_statement(sql), source.params)
    return []


def _insert_sql(table: Table, source: UnnestedRows, skip_conflicts_on: Sequence[str], skip_any_conflict: bool) -> str:
    sql = f'INSERT INTO "{table.name}" ({source.names}) SELECT {source.selects} FROM {source.from_}'
    if skip_any_conflict:
        return sql + " ON CONFLICT DO NOTHING"
    if skip_conflicts_on:
        return sql + f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
    return sql


@dataclass(frozen=True)
class UnnestedRows:
    """PostgreSQL: rows for `table`, given by column, as SQL parts: `INSERT INTO t ({names}) SELECT {selects}
    FROM {from_}` inserts them; a larger statement (a data-modifying CTE) can join or filter them first."""

    names: str  # the columns, quoted, comma-separated
    selects: str  # `alias.cN` per column, JSON columns cast from their text
    from_: str  # `unnest(CAST(:{prefix}N AS type[]), …) [WITH ORDINALITY] AS alias({prefix}N, …[, ordinal])`
    params: dict[str, list[Any]]


def unnest_rows(table: Table, columns: dict[str, list[Any]], *, prefix: str = "c", alias: str = "u",
                extra: dict[str, tuple[str, list[Any]]] | None = None, ordinality: bool = False,
                json_text: bool = False) -> UnnestedRows:
    """One array parameter per column (named `{prefix}N`), however many rows. `extra`: more arrays beside the
    table's columns, `name: (SQL type, values)`, readable as `alias.name` (e.g. the id of the row each row
    belongs to) but not inserted; `ordinality`: `alias.ordinal` numbers the rows from 1, in the given order;
    `json_text`: JSON columns' values are their JSON text already (as `copy_columns` takes them)."""
    extra = extra or {}
    names, selects, from_, json_keys = _unnest_sql(table, tuple(columns), prefix, alias,
                                                   tuple((name, kind) for name, (kind, _v) in extra.items()), ordinality)
    params = {f"{prefix}{i}": values for i, values in enumerate(columns.values())}
    if not json_text:
        for key in json_keys:
            params[key] = [None if v is None else json.dumps(v, separators=(",", ":")) for v in params[key]]
    for name, (_kind, values) in extra.items():
        params[f"{prefix}_{name}"] = values
    return UnnestedRows(names=names, selects=selects, from_=from_, params=params)


@functools.cache
def _unnest_sql(table: Table, columns: tuple[str, ...], prefix: str, alias: str, extra: tuple[tuple[str, str], ...],
                ordinality: bool) -> tuple[str, str, str, tuple[str, ...]]:
    """`unnest_rows`' SQL parts, and the parameters of its JSON columns, built once per shape: a group commit
    builds the same statement for every group."""
    casts, selects, fields, json_keys = [], [], [], []
    for i, name in enumerate(columns):
        kind = _pg_type(table, name)
        key = f"{prefix}{i}"
        if _is_json(table, name):
            json_keys.append(key)
            casts.append(f"CAST(:{key} AS TEXT[])")
            selects.append(f"{alias}.{key}::{kind}")
        else:
            casts.append(f"CAST(:{key} AS {kind}[])")
            selects.append(f"{alias}.{key}")
        fields.append(key)
    for name, kind in extra:
        casts.append(f"CAST(:{prefix}_{name} AS {kind}[])")
        fields.append(name)
    if ordinality:
        fields.append("ordinal")
    return (", ".join(f'"{c}"' for c in columns), ", ".join(selects),
            f"unnest({', '.join(casts)}){' WITH ORDINALITY' if ordinality else ''} AS {alias}({', '.join(fields)})",
            tuple(json_keys))


@dataclass(frozen=True)
class Dependent:
    """Rows of another table, each belonging to one row of an INSERT (`parents[i]`: the value that INSERT returns
    for the row that row i belongs to): written by the same statement, only for the rows it really inserts."""

    table: Table
    columns: dict[str, list[Any]]
    parents: Sequence[Any]
    json_text: bool = False  # JSON columns given as their JSON text (as OutboxRows has them)
    in_order: bool = False  # inserted in the order given (an identity column numbers them so: the outbox's seq)


@functools.lru_cache(maxsize=256)
def _statement(sql: str) -> Any:
    """A statement's text parsed once (its bind parameters found), however often it is built again."""
    return text(sql)


async def insert_with_dependents(
    session: AsyncSession, table: Table, columns: dict[str, list[Any]], dependents: Sequence[Dependent], *,
    returning: str = "id", skip_conflicts_on: Sequence[str] = (), skip_any_conflict: bool = False,
) -> list[Any]:
    """PostgreSQL: `insert_columns(..., returning=...)` and, in the same statement (data-modifying CTEs), the
    dependents' rows of the rows it inserts — the events a change announces, its audit rows. One statement is
    atomic on its own: with `UnitOfWork.one_statement` it needs no transaction around it, one round trip
    where separate INSERTs with BEGIN and COMMIT were two more each. SQLite: the same rows by one INSERT per
    table, in the caller's transaction."""
    if session.get_bind().dialect.name != "postgresql":
        inserted = await insert_columns(session, table, columns, skip_conflicts_on=skip_conflicts_on,
                                        returning=returning, skip_any_conflict=skip_any_conflict)
        kept = set(inserted)
        for dependent in dependents:
            chosen = [i for i, parent in enumerate(dependent.parents) if parent in kept]
            if chosen:
                await insert_columns(session, dependent.table, {
                    name: [json.loads(values[i]) if dependent.json_text and _is_json(dependent.table, name) else values[i]
                           for i in chosen] for name, values in dependent.columns.items()})
        return inserted
    main = unnest_rows(table, columns, prefix="m", alias="m")
    key_type = _pg_type(table, returning)
    sql = f'WITH main AS ({_insert_sql(table, main, skip_conflicts_on, skip_any_conflict)} RETURNING "{returning}")'
    params = dict(main.params)
    for n, dependent in enumerate(dependents):
        if not dependent.parents:
            continue
        alias = f"d{n}"
        rows = unnest_rows(dependent.table, dependent.columns, prefix=alias, alias=alias, json_text=dependent.json_text,
                           extra={"parent": (key_type, list(dependent.parents))}, ordinality=dependent.in_order)
        sql += (f', {alias}_ AS (INSERT INTO "{dependent.table.name}" ({rows.names}) SELECT {rows.selects} '
                f'FROM {rows.from_} WHERE {alias}.parent IN (SELECT "{returning}" FROM main)'
                f'{f" ORDER BY {alias}.ordinal" if dependent.in_order else ""})')
        params.update(rows.params)
    sql += f' SELECT "{returning}" FROM main'
    return list((await session.execute(_statement(sql), params)).scalars())


async def copy_columns(session: AsyncSession, table: Table, columns: dict[str, list[Any]], *,
                       all_or_nothing: bool = False) -> bool:
    """PostgreSQL: COPY the rows in (binary, row by row: no per-element checks of array parameters, which
    cost a 13-column, 1,000-row `insert_columns` a tenth of a batch's time), inside the caller's transaction.
    Answers False, having written nothing, on another database or — with `all_or_nothing` — when a row
    violates a unique constraint (the COPY is then undone to a savepoint; the transaction goes on). JSON
    columns must be given as their JSON text."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return False
    names = list(columns)
    if not names or not columns[names[0]]:
        return True
    raw: Any = (await connection.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # The driver opens its transaction at the first statement; a COPY before any would commit at once.
        await connection.execute(text("SELECT 1"))
    records = zip(*columns.values(), strict=True)
    if not all_or_nothing:
        await raw.copy_records_to_table(table.name, columns=names, records=records)
        return True
    await raw.execute("SAVEPOINT eoc_bulk_copy")
    try:
        await raw.copy_records_to_table(table.name, columns=names, records=records)
    except asyncpg.UniqueViolationError:
        await raw.execute("ROLLBACK TO SAVEPOINT eoc_bulk_copy")
        return False
    await raw.execute("RELEASE SAVEPOINT eoc_bulk_copy")
    return True
