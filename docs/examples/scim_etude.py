"""Petit client SCIM pour le SIRH d'une étude (bibliothèque standard seulement).

A small SCIM client for an étude's HR system (standard library only).

Lit deux variables d'environnement / reads two environment variables:
  SCIM   l'adresse SCIM du connecteur, p. ex. https://scim.example.fr/scim/v2
  TOKEN  le jeton de l'étude (cnx.<étude>.<id>.<secret>)
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from typing import Any

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ETUDE = "urn:iqera:params:scim:schemas:extension:etude:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def call(method: str, path: str, body: Any = None) -> Any:
    """Envoie une requête SCIM ; renvoie le JSON reçu, ou quitte avec le détail de l'erreur."""
    request = urllib.request.Request(
        os.environ["SCIM"].rstrip("/") + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {os.environ['TOKEN']}",
                 "Content-Type": "application/scim+json",
                 "Accept-Language": os.environ.get("SCIM_LANG", "fr")})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("detail", "")
        sys.exit(f"{method} {path}: {error.code} {detail}")
    return json.loads(raw) if raw else None


def user_id(user_name: str) -> str:
    """Retrouve l'id SCIM d'un utilisateur par son userName."""
    query = urllib.parse.urlencode({"filter": f'userName eq "{user_name}"', "attributes": "id"})
    found = call("GET", f"/Users?{query}")["Resources"]
    if not found:
        sys.exit(f"{user_name}: inconnu / unknown")
    return str(found[0]["id"])


def patch(user_name: str, *operations: dict[str, Any]) -> Any:
    """Applique des opérations PATCH (RFC 7644 §3.5.2) à un utilisateur."""
    return call("PATCH", f"/Users/{user_id(user_name)}",
                {"schemas": [PATCH_OP], "Operations": list(operations)})


def new_user(user_name: str, given_name: str, family_name: str, email: str,
             title: str, **etude: Any) -> dict[str, Any]:
    """Compose la fiche d'un nouvel utilisateur ; les dates de preuve sont celles du jour."""
    today = date.today().isoformat()
    return {"schemas": [CORE, ETUDE], "userName": user_name, "externalId": user_name,
            "name": {"givenName": given_name, "familyName": family_name},
            "emails": [{"value": email, "type": "work", "primary": True}], "title": title,
            ETUDE: {"confidentialityAcceptedDate": today, **etude}}


def show(user: dict[str, Any]) -> None:
    """Affiche l'état d'accès renvoyé par le connecteur."""
    ext = user.get(ETUDE, {})
    print(f"{user['userName']}: {ext.get('accessStatus')}")
    for issue in ext.get("accessIssues", []):
        print(f"  - {issue['code']}: {issue['detail']}")
