"""Whole columns of dataset rows as Python lists, read at once.

Iterating a `datasets.Dataset` column (`ds["object"]`, a lazy `Column` in recent `datasets`
releases) formats the dataset row by row, some microseconds per value; slicing it whole
(`ds["object"][:]`) reads the Arrow column at once, a hundred times faster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: `default` of `column` when none is given: a missing column is a KeyError.
_REQUIRED: Any = object()


def is_columnar(rows: Any) -> bool:
    """Whether `rows` is a table of columns (a `datasets.Dataset` or a dict of columns)
    rather than row dicts."""
    return hasattr(rows, "column_names") or isinstance(rows, Mapping)


def column(rows: Any, name: str, default: Any = _REQUIRED) -> list[Any]:
    """The values of column `name` of `rows`, in row order, as a list.

    `rows`: a `datasets.Dataset` (its selection and format applied, as row by row), a dict
    of columns, or a sequence of row dicts (an iterator is read once: use `columns` to
    read several columns of it). Where `default` is given, a column that `rows` lacks (or
    a row dict's missing key) reads as `default`; without it, as a KeyError.
    """
    if not is_columnar(rows):
        if default is _REQUIRED:
            return [row[name] for row in rows]
        return [row.get(name, default) for row in rows]
    names = rows.column_names if hasattr(rows, "column_names") else rows
    if name not in names:
        if default is _REQUIRED:
            raise KeyError(name)
        return [default] * _num_rows(rows)
    values = rows[name]
    return values[:] if hasattr(rows, "column_names") else list(values)


def columns(rows: Any, names: Sequence[str], default: Any = _REQUIRED) -> list[list[Any]]:
    """`column(rows, name, default)` of each of `names`; `rows` may be an iterator of row
    dicts (read into a list first)."""
    rows = rows if is_columnar(rows) or isinstance(rows, Sequence) else list(rows)
    return [column(rows, name, default) for name in names]


def _num_rows(rows: Any) -> int:
    """The number of rows of a `Dataset` or of a dict of columns (its first column's)."""
    if hasattr(rows, "column_names"):
        return len(rows)
    return len(next(iter(rows.values()), ()))


__all__ = ["column", "columns", "is_columnar"]
