"""A JSON list column holding any of some values, as SQL on both stores (no rows loaded into Python)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler


class JsonListHasAny(ColumnElement[bool]):
    """Some element of the JSON list in `column` equals one of `values`."""

    type = Boolean()
    _is_implicitly_boolean = True
    inherit_cache = False

    def __init__(self, column: Any, values: Sequence[str]) -> None:
        self.column = column
        self.values = sorted({str(value) for value in values})


def json_list_has_any(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """A condition true where the JSON list in `column` shares at least one value with `values`."""
    return JsonListHasAny(column, values)


def _parts(element: JsonListHasAny, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    # An expanding parameter renders its own parentheses.
    wanted = bindparam(None, element.values, type_=String(), expanding=True)
    return compiler.process(element.column, **kw), compiler.process(wanted, **kw)


@compiles(JsonListHasAny, "sqlite")
def _sqlite(element: JsonListHasAny, compiler: SQLCompiler, **kw: Any) -> str:
    column, wanted = _parts(element, compiler, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value IN {wanted})"


@compiles(JsonListHasAny, "postgresql")
def _postgresql(element: JsonListHasAny, compiler: SQLCompiler, **kw: Any) -> str:
    # The column is JSON (not JSONB), so its elements are unnested rather than tested with ?|.
    column, wanted = _parts(element, compiler, **kw)
    return f"EXISTS (SELECT 1 FROM json_array_elements_text({column}) AS element(value) WHERE element.value IN {wanted})"
