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

from sqlalchemy import Boolean, ColumnElement, String, bindparam
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from core.id_array import IdArray


class IdIn(ColumnElement[bool]):
    """`column` is one of `ids`; rendered per dialect by the functions below."""

    type = Boolean()
    # Already a condition: SQLite must not compare it with 1 (which would also hide it from the index).
    _is_implicitly_boolean = True
    # The ids are one bound value, so the statement's shape (and its compiled form) is cached like any
    # other: compiling anew on each request cost a tenth of a match's time.
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own declaration is a plain class list)
        ("column", InternalTraversal.dp_clauseelement),
        ("ids_json", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, ids: Iterable[int]) -> None:
        self.column = column
        # An IdArray is sorted and unique already (a filtered search scope of 10^5 ids).
        unique = ids.array.tolist() if isinstance(ids, IdArray) else sorted({int(i) for i in ids})
        self.ids_json = bindparam(None, json.dumps(unique), type_=String())


def id_in(column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """A condition true where `column` holds one of `ids`, however many there are (none: never true)."""
    return IdIn(column, ids)


@compiles(IdIn)
def _unsupported(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"id sets are written for SQLite and PostgreSQL, not {compiler.dialect.name}")


@compiles(IdIn, "sqlite")
def _sqlite(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, parameter = compiler.process(element.column, **kw), compiler.process(element.ids_json, **kw)
    return f"{column} IN (SELECT value FROM json_each({parameter}))"


@compiles(IdIn, "postgresql")
def _postgresql(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, parameter = compiler.process(element.column, **kw), compiler.process(element.ids_json, **kw)
    return (
        f"{column} IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST({parameter} AS JSON)))"
    )
