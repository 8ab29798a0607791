"""Cursor (keyset) pagination: stable under inserts, no OFFSET, a fixed number of queries per page.

A cursor is opaque to clients: URL-safe base64 of the sort key and the values of that key in the
last row of the page (the key always ends with the primary key, so it is unique). The next page is
"rows strictly after those values in that order", which no insert or delete elsewhere can shift.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Field, Model, Q, QuerySet
from django.utils.translation import gettext as _

from ..errors import Invalid

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _bad_cursor() -> Invalid:
    return Invalid(
        _("The cursor is not valid for this list; start again without one."),
        code="invalid_cursor",
        fields={"cursor": [_("Not a cursor of this list.")]},
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def encode_cursor(row: Model, ordering: Sequence[str]) -> str:
    values = [_json_value(getattr(row, name.lstrip("-"))) for name in ordering]
    raw = json.dumps({"o": ",".join(ordering), "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    model: type[Model],
    cursor: str,
    ordering: Sequence[str],
    annotated: Mapping[str, Field[Any, Any]] | None = None,
) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("o") != ",".join(ordering):
            raise _bad_cursor()
        values = data["v"]
        if not isinstance(values, list) or len(values) != len(ordering):
            raise _bad_cursor()
        result = []
        for name, value in zip(ordering, values, strict=True):
            if value is None or isinstance(value, (dict, list)):
                raise _bad_cursor()
            key = name.lstrip("-")
            field = (annotated or {}).get(key) or model._meta.get_field(key)
            result.append(field.to_python(value))  # type: ignore[union-attr]  # sort keys are local fields
        return result
    except (ValueError, TypeError, KeyError, binascii.Error, ValidationError, FieldDoesNotExist):
        raise _bad_cursor() from None


def _after(ordering: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows that sort strictly after `values` in `ordering` (a lexicographic comparison)."""
    condition = Q(pk__in=[])
    for i, name in enumerate(ordering):
        field = name.lstrip("-")
        step = Q(**{f"{field}__{'lt' if name.startswith('-') else 'gt'}": values[i]})
        for prev, value in zip(ordering[:i], values[:i], strict=True):
            step &= Q(**{prev.lstrip("-"): value})
        condition |= step
    return condition


def paginate(
    queryset: QuerySet[M],
    ordering: Sequence[str],
    *,
    cursor: str | None,
    limit: int,
    annotated: Mapping[str, Field[Any, Any]] | None = None,
) -> tuple[list[M], str | None]:
    """One page of `queryset` in `ordering` (whose last item is the primary key) after `cursor`.
    Sort keys that are annotations, not model fields, are named in `annotated` with their type.

    Returns the rows and the cursor of the next page (None on the last page). One query, plus the
    queryset's own prefetches.
    """
    assert ordering[-1].lstrip("-") in ("id", "pk")
    queryset = queryset.order_by(*ordering)
    if cursor:
        queryset = queryset.filter(
            _after(ordering, decode_cursor(queryset.model, cursor, ordering, annotated))
        )
    rows = list(queryset[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1], ordering)
    return rows, None
