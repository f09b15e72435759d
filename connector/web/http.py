"""HTTP helpers shared by the SCIM views: JSON in and out, language, errors (RFC 7644 §3.12)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g, request

from connector.scim.errors import InvalidSyntax, ScimError
from connector.scim.limits import MAX_JSON_DEPTH, check_json
from connector.service.context import RequestContext
from connector.web import SCIM_PREFIX

SCIM_JSON = "application/scim+json"


def prefers_french() -> bool:
    """Tell whether Accept-Language prefers French over English."""
    best = request.accept_languages.best_match(["fr", "en"], default="en")
    return best == "fr"


def base_url() -> str:
    """The SCIM root as the client sees it, for meta.location (CONNECTOR_BASE_URL in production)."""
    configured = current_app.config["SETTINGS"].base_url
    return configured.rstrip("/") if configured else request.url_root.rstrip("/") + SCIM_PREFIX


def request_context() -> RequestContext:
    """Who calls, the SCIM root and the language of this request, for the services."""
    return RequestContext(g.principal, base_url(), prefers_french())


def scim_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    """Serialise a SCIM body with the SCIM media type (RFC 7644 §8.1)."""
    payload = "" if body is None else json.dumps(body, ensure_ascii=False)
    resp = Response(payload, status=status, content_type=SCIM_JSON if body is not None else None)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def error_response(error: ScimError) -> Response:
    """Render a SCIM error body with its status and headers."""
    return scim_response(error.to_body(prefers_french()), error.status, error.headers)


def json_body() -> Any:
    """Parse the request body as JSON, or raise 400 invalidSyntax with a clear detail."""
    return parse_json(request.get_data(cache=True))


def parse_json(raw: bytes, expected: str = "a JSON object",
               expected_fr: str = "un objet JSON") -> Any:
    """Parse a body as JSON, or raise 400 invalidSyntax saying what was expected."""
    if not raw:
        raise InvalidSyntax(f"The request body is empty; {expected} is expected.",
                            detail_fr=f"Le corps de la requête est vide ; {expected_fr} est "
                            "attendu.")
    try:
        parsed = json.loads(raw)
    except RecursionError:
        raise InvalidSyntax(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.",
                            detail_fr=f"Le corps JSON est imbriqué sur plus de {MAX_JSON_DEPTH} "
                            "niveaux.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSyntax(f"The request body is not valid JSON: {str(exc)[:200]}",
                            detail_fr="Le corps de la requête n'est pas un JSON valide : "
                            f"{str(exc)[:200]}") from None
    check_json(parsed)
    return parsed
