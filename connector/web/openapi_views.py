"""`GET /scim/v2/openapi.json`: the OpenAPI 3.1 description, built from what discovery serves."""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

from flask import Blueprint, Response, current_app

from connector.keycloak.profile_checks import MAX_LENGTH, USERNAME_MIN
from connector.scim import discovery
from connector.scim.openapi import openapi_document
from connector.scim.schema_defs import COMMON_ATTRIBUTES
from connector.service.user_record import DATE_FIELDS
from connector.web.http import base_url

blueprint = Blueprint("openapi", __name__)
PATH = "/openapi.json"
# What Keycloak's user profile holds (checked before any write): see keycloak/profile_checks.
LENGTHS = {"userName": (USERNAME_MIN, MAX_LENGTH), "name.givenName": (0, MAX_LENGTH),
           "name.familyName": (0, MAX_LENGTH), "emails.value": (0, MAX_LENGTH)}


def _version() -> str:
    try:
        return metadata.version("etude-scim-connector")
    except metadata.PackageNotFoundError:
        return "0"


@blueprint.get(PATH)
def openapi() -> Any:
    settings = current_app.config["SETTINGS"]
    root = base_url()
    spc = discovery.service_provider_config(
        root, max_page=settings.max_page_size, bulk_ops=settings.bulk_max_operations,
        bulk_payload=settings.bulk_max_payload, bulk="bulk" in current_app.blueprints,
        max_candidates=settings.max_candidates)
    document = openapi_document(
        discovery.all_schemas(root, current_app.extensions["mappings"].vocabulary()),
        discovery.all_resource_types(root), spc, COMMON_ATTRIBUTES, base_url=root,
        version=_version(), max_body_bytes=settings.max_body_bytes, dates=DATE_FIELDS,
        lengths=LENGTHS)
    return Response(json.dumps(document, ensure_ascii=False), mimetype="application/json")
