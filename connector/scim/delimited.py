"""Multi-valued strings sent as one string: Microsoft Entra ID cannot send a list.

Entra ID maps a custom SCIM attribute of a non-gallery application as a single value only, so
the étude's `platforms` (and a team's `delegatedPermissions`) arrive as `"mars"` or
`"mars,v3"`. A string is read as its comma-separated values; a list is read as is, each of its
strings split the same way. Values are never written back in this form: responses carry lists.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields


def split_values(value: Any) -> Any:
    """Read `"mars,v3"` or `["mars,v3"]` as `["mars", "v3"]`; leave other shapes to validation."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for item in value:
        if isinstance(item, str):
            out.extend(part.strip() for part in item.split(",") if part.strip())
        else:
            out.append(item)
    return out


class DelimitedList(fields.List):
    """A list of strings that also accepts one comma-separated string (RFC 7643 §2.4)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return super()._deserialize(split_values(value), attr, data, **kwargs)
