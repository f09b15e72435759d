"""Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, Schemas, ResourceTypes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from connector.scim import discovery
from connector.scim.errors import NotFound
from connector.scim.schema_defs import Vocabulary
from connector.web.http import base_url, scim_response

blueprint = Blueprint("discovery", __name__)


def _vocabulary() -> Vocabulary:
    return current_app.extensions["mappings"].vocabulary()


@blueprint.get("/ServiceProviderConfig")
def service_provider_config() -> Any:
    settings = current_app.config["SETTINGS"]
    return scim_response(discovery.service_provider_config(
        base_url(), max_page=settings.max_page_size, bulk_ops=settings.bulk_max_operations,
        bulk_payload=settings.bulk_max_payload, bulk="bulk" in current_app.blueprints,
        max_candidates=settings.max_candidates))


@blueprint.get("/Schemas")
def schemas() -> Any:
    return scim_response(discovery.list_response(discovery.all_schemas(base_url(),
                                                                       _vocabulary())))


@blueprint.get("/Schemas/<path:urn>")
def schema(urn: str) -> Any:
    for doc in discovery.all_schemas(base_url(), _vocabulary()):
        if doc["id"].lower() == urn.lower():
            return scim_response(doc)
    raise NotFound(f"No schema {urn}.", detail_fr=f"Aucun schéma {urn}.")


@blueprint.get("/ResourceTypes")
def resource_types() -> Any:
    return scim_response(discovery.list_response(discovery.all_resource_types(base_url())))


@blueprint.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Any:
    for doc in discovery.all_resource_types(base_url()):
        if doc["id"].lower() == name.lower():
            return scim_response(doc)
    raise NotFound(f"No resource type {name}.", detail_fr=f"Aucun type de ressource {name}.")
