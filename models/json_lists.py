"""A JSON list column holding any of some values, as SQL on both stores (no rows loaded into Python)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class JsonListHasAny(ColumnElement[bool]):
    """Some element of the JSON list in `column` equals one of `values`."""

    type = Boolean()
    _is_implicitly_boolean = True
    # The values are one (expanding) bound parameter, so a filtered list's statement is compiled once
    # for its shape, not on every request.
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own declaration is a plain class list)
        ("column", InternalTraversal.dp_clauseelement),
        ("wanted", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, values: Sequence[str]) -> None:
        self.column = column
        # An expanding parameter renders its own parentheses.
        self.wanted = bindparam(
            None, sorted({str(value) for value in values}), type_=String(), expanding=True
        )


def json_list_has_any(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """A condition true where the JSON list in `column` shares at least one value with `values`."""
    return JsonListHasAny(column, values)


def _parts(element: JsonListHasAny, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    return compiler.process(element.column, **kw), compiler.process(element.wanted, **kw)


@compiles(JsonListHasAny, "sqlite")
def _sqlite(element: JsonListHasAny, compiler: SQLCompiler, **kw: Any) -> str:
    column, wanted = _parts(element, compiler, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value IN {wanted})"


@compiles(JsonListHasAny, "postgresql")
def _postgresql(element: JsonListHasAny, compiler: SQLCompiler, **kw: Any) -> str:
    # The column is JSON (not JSONB), so its elements are unnested rather than tested with ?|.
    column, wanted = _parts(element, compiler, **kw)
    return f"EXISTS (SELECT 1 FROM json_array_elements_text({column}) AS element(value) WHERE element.value IN {wanted})"
