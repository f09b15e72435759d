"""SCIM errors shaped like RFC 7644 §3.12: one class per scimType, each renders itself."""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """Base of every SCIM error (RFC 7644 §3.12)."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str, *, detail_fr: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_fr = detail_fr or detail
        self.headers = headers or {}

    def to_body(self, french: bool = False) -> dict[str, Any]:
        """Render the RFC 7644 §3.12 error body."""
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail_fr if french else self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class BadRequest(ScimError):
    """400 without a more specific scimType (e.g. malformed JSON)."""


class InvalidFilter(ScimError):
    """400 invalidFilter: the filter syntax is wrong or cannot be served (§3.4.2.2)."""

    scim_type = "invalidFilter"


class TooMany(ScimError):
    """400 tooMany: the filter would return more results than allowed (§3.12)."""

    scim_type = "tooMany"


class Uniqueness(ScimError):
    """409 uniqueness: a unique attribute value is already taken (§3.12)."""

    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    """400 mutability: an attempt to change an immutable or read-only attribute (§3.12)."""

    scim_type = "mutability"


class InvalidSyntax(ScimError):
    """400 invalidSyntax: the request body structure is invalid (§3.12)."""

    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    """400 invalidPath: the PATCH path is illegal (§3.12)."""

    scim_type = "invalidPath"


class NoTarget(ScimError):
    """400 noTarget: the PATCH path matched nothing where a target was required (§3.12)."""

    scim_type = "noTarget"


class InvalidValue(ScimError):
    """400 invalidValue: a value is missing, of the wrong type or breaks a rule (§3.12)."""

    scim_type = "invalidValue"


class Unauthorized(ScimError):
    """401: no valid bearer token (§3.12, RFC 6750)."""

    status = 401

    def __init__(self, detail: str, *, detail_fr: str | None = None) -> None:
        super().__init__(detail, detail_fr=detail_fr,
                         headers={"WWW-Authenticate": 'Bearer realm="scim"'})


class Forbidden(ScimError):
    """403: the token may not perform this operation (§3.12)."""

    status = 403


class NotFound(ScimError):
    """404: the resource does not exist, or not for this token (§3.12)."""

    status = 404


class PreconditionFailed(ScimError):
    """412: If-Match does not match the current version (§3.14)."""

    status = 412


class PayloadTooLarge(ScimError):
    """413: the bulk request exceeds maxOperations or maxPayloadSize (§3.7.4)."""

    status = 413


class UnsupportedMediaType(ScimError):
    """415: the body of a write is not JSON (RFC 7644 §3.1 asks for application/scim+json)."""

    status = 415


class Unavailable(ScimError):
    """503: Keycloak cannot be reached; the client should retry later (§3.12)."""

    status = 503

    def __init__(self, detail: str, *, detail_fr: str | None = None,
                 retry_after: int = 30) -> None:
        super().__init__(detail, detail_fr=detail_fr,
                         headers={"Retry-After": str(retry_after)})


def keycloak_unavailable() -> Unavailable:
    """Build the 503 of a Keycloak that cannot be reached (connection, timeout, 502-504)."""
    return Unavailable("Keycloak cannot be reached; retry later.",
                       detail_fr="Keycloak est injoignable ; réessayez plus tard.")
