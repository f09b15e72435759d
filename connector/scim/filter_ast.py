"""The syntax tree of SCIM filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2)."""

from __future__ import annotations

from dataclasses import dataclass

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
ORDER_OPS = ("gt", "ge", "lt", "le")


@dataclass(frozen=True)
class AttrPath:
    """An attribute path `[urn:]attr[.sub]`, names lowercased (RFC 7644 §3.10)."""

    urn: str | None
    attr: str
    sub: str | None = None

    @property
    def dotted(self) -> str:
        """Return `attr.sub` (or `attr`), without the URN."""
        return f"{self.attr}.{self.sub}" if self.sub else self.attr

    @property
    def full(self) -> str:
        """Return `urn:attr.sub` when a URN was given, else the dotted form."""
        return f"{self.urn}:{self.dotted}" if self.urn else self.dotted


@dataclass(frozen=True)
class Compare:
    """`path op value` with op one of eq ne co sw ew gt ge lt le (RFC 7644 §3.4.2.2)."""

    path: AttrPath
    op: str
    value: object


@dataclass(frozen=True)
class Present:
    """`path pr` (RFC 7644 §3.4.2.2)."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    """`left and right`."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    """`left or right`."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """`not (node)`."""

    node: Node


@dataclass(frozen=True)
class ValuePath:
    """`path[filter]`, plus `.sub` in PATCH paths only (RFC 7644 §3.5.2)."""

    path: AttrPath
    filter: Node
    sub: str | None = None


Node = Compare | Present | And | Or | Not | ValuePath
