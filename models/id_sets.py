"""Membership in a set of ids of any size, as one SQL condition with one parameter on both stores.

`column.in_(ids)` binds one parameter per id: psycopg refuses more than 65,535 of them (a 500 on
PostgreSQL past that many ids) and SQLite more than 250,000. Here the ids travel as one JSON array
that the database unnests: `json_each` on SQLite (built in since 3.38), `json_array_elements_text`
on PostgreSQL. Measured with 10^5 ids (docs/decisions.md, "Unbounded id sets") this is also the
fastest of the portable ways: a PostgreSQL array parameter spends most of its time adapting the list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, Boolean, ColumnElement, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler


class IdIn(ColumnElement[bool]):
    """`column` is one of `ids`; rendered per dialect by the functions below."""

    type = Boolean()
    # Already a condition: SQLite must not compare it with 1 (which would also hide it from the index).
    _is_implicitly_boolean = True
    # The ids are values, not structure: a cached statement would carry the first call's ids.
    inherit_cache = False

    def __init__(self, column: Any, ids: Iterable[int]) -> None:
        self.column = column
        self.ids = sorted({int(i) for i in ids})


def id_in(column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """A condition true where `column` holds one of `ids`, however many there are (none: never true)."""
    return IdIn(column, ids)


def _json_ids(element: IdIn, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column = compiler.process(element.column, **kw)
    parameter = compiler.process(bindparam(None, json.dumps(element.ids), type_=String()), **kw)
    return column, parameter


@compiles(IdIn)
def _literal_list(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    # Other stores: the integers written into the statement (ints, so nothing can be injected).
    listed: BindParameter[list[int]] = bindparam(None, element.ids, expanding=True, literal_execute=True)
    return compiler.process(element.column.in_(listed), **kw)


@compiles(IdIn, "sqlite")
def _sqlite(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, parameter = _json_ids(element, compiler, **kw)
    return f"{column} IN (SELECT value FROM json_each({parameter}))"


@compiles(IdIn, "postgresql")
def _postgresql(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, parameter = _json_ids(element, compiler, **kw)
    return (
        f"{column} IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST({parameter} AS JSON)))"
    )
