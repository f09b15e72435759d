"""Run a bulk request (RFC 7644 §3.7) through the Users and Groups services, one op at a time.

The services apply the rules, the tenancy of the caller's token and the audit; this module only
orders the operations, resolves bulkId references and collects one result per operation.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from connector.keycloak.gateway import KeycloakHTTPError, KeycloakUnavailable
from connector.scim import bulk
from connector.scim.errors import InvalidValue, NotFound, ScimError, keycloak_unavailable
from connector.service.context import RequestContext

log = logging.getLogger("connector.bulk")


class ResourceService(Protocol):
    """What the bulk dispatcher needs of a resource service (users, teams): one contract."""

    def create(self, payload: Any, ctx: RequestContext) -> dict[str, Any]: ...

    def replace(self, resource_id: str, payload: Any, ctx: RequestContext,
                if_match: str | None = None) -> dict[str, Any]: ...

    def patch(self, resource_id: str, body: Any, ctx: RequestContext,
              if_match: str | None = None) -> dict[str, Any]: ...

    def delete(self, resource_id: str, ctx: RequestContext,
               if_match: str | None = None) -> None: ...


class BulkService:
    """Dispatch bulk operations by path prefix (/Users, /Groups) to the resource services."""

    def __init__(self, users: ResourceService, teams: ResourceService) -> None:
        self.endpoints: dict[str, ResourceService] = {"/Users": users, "/Groups": teams}

    def run(self, request: bulk.BulkRequest, ctx: RequestContext) -> dict[str, Any]:
        """Run every operation in dependency order; stop once failOnErrors errors occurred."""
        ids: dict[str, str] = {}
        results: dict[int, dict[str, Any]] = {}
        errors = 0
        for op, blocked in bulk.schedule(request.operations):
            if request.fail_on_errors is not None and errors >= request.fail_on_errors:
                break
            location = None
            try:
                if blocked is not None:
                    raise blocked
                path = bulk.resolve(op.path, ids)
                location = f"{ctx.base_url}{path}" if op.method != "POST" else None
                status, resource = self._dispatch(op, path, ids, ctx)
            except KeycloakUnavailable:
                errors += 1
                results[op.index] = bulk.operation_result(
                    op, 503, location=location, error=keycloak_unavailable().to_body(ctx.french))
                continue
            except ScimError as exc:
                errors += 1
                results[op.index] = bulk.operation_result(op, exc.status, location=location,
                                                          error=exc.to_body(ctx.french))
                continue
            except KeycloakHTTPError as exc:
                errors += 1
                log.error("bulk operation %d refused by keycloak: %s", op.index + 1, exc)
                results[op.index] = bulk.operation_result(
                    op, 502, location=location, error=_server_error(
                        502, "Keycloak refused the operation; see the connector's log.",
                        "Keycloak a refusé l'opération ; voir le journal du connecteur.",
                        ctx.french))
                continue
            except Exception:  # one broken operation must not abort the others (§3.7)
                errors += 1
                log.exception("bulk operation %d failed", op.index + 1)
                results[op.index] = bulk.operation_result(
                    op, 500, location=location, error=_server_error(
                        500, "Internal error; see the connector's log.",
                        "Erreur interne ; voir le journal du connecteur.", ctx.french))
                continue
            if resource is not None:
                if op.method == "POST" and op.bulk_id:
                    ids[op.bulk_id] = str(resource["id"])
                meta = resource.get("meta") or {}
                location, version = meta.get("location") or location, meta.get("version")
            else:
                version = None
            results[op.index] = bulk.operation_result(op, status, location=location,
                                                      version=version)
        return bulk.bulk_response([results[i] for i in sorted(results)])

    def _dispatch(self, op: bulk.BulkOperation, path: str, ids: dict[str, str],
                  ctx: RequestContext) -> tuple[int, dict[str, Any] | None]:
        endpoint, resource_id = bulk.split_path(path)
        service = self.endpoints.get(endpoint)
        if service is None:
            raise NotFound(f"Bulk serves /Users and /Groups, not {endpoint}.",
                           detail_fr=f"Bulk sert /Users et /Groups, pas {endpoint}.")
        if (op.method == "POST") != (resource_id is None):
            raise InvalidValue(
                f"{op.method} needs {'the endpoint' if op.method == 'POST' else 'a resource'} "
                f"as path, e.g. {endpoint}{'' if op.method == 'POST' else '/<id>'}.",
                detail_fr=f"{op.method} attend comme chemin "
                f"{'le point d’accès' if op.method == 'POST' else 'une ressource'}, p. ex. "
                f"{endpoint}{'' if op.method == 'POST' else '/<id>'}.")
        data = bulk.resolve(op.data, ids)
        if op.method == "POST":
            return 201, service.create(data, ctx)
        assert resource_id is not None
        if op.method == "PUT":
            return 200, service.replace(resource_id, data, ctx, op.version)
        if op.method == "PATCH":
            return 200, service.patch(resource_id, data, ctx, op.version)
        service.delete(resource_id, ctx, op.version)
        return 204, None


def _server_error(status: int, detail: str, detail_fr: str, french: bool) -> dict[str, Any]:
    error = ScimError(detail, detail_fr=detail_fr)
    body = error.to_body(french)
    body["status"] = str(status)
    return body
