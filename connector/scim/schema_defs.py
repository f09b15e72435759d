"""The attribute definitions the connector serves, in RFC 7643 §7 form (data, not code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.domain.rules import ACCESS_STATUSES

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ETUDE_USER = "urn:iqera:params:scim:schemas:extension:etude:2.0:User"
ETUDE_GROUP = "urn:iqera:params:scim:schemas:extension:etude:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"



@dataclass(frozen=True)
class Vocabulary:
    """The canonical values mappings/ declares: profiles, platforms, delegable permissions."""

    profiles: tuple[str, ...]
    platforms: tuple[str, ...]
    permissions: tuple[str, ...]


# (schema, attribute) -> the Vocabulary field giving its canonicalValues in /Schemas.
VOCABULARY_OF = {(ETUDE_USER, "profile"): "profiles", (ETUDE_USER, "platforms"): "platforms",
                 (ETUDE_GROUP, "platforms"): "platforms",
                 (ETUDE_GROUP, "delegatedPermissions"): "permissions"}


def attr(name: str, type_: str = "string", *, multi: bool = False, required: bool = False,
         case_exact: bool = False, mutability: str = "readWrite", returned: str = "default",
         uniqueness: str = "none", canonical: tuple[str, ...] | None = None,
         sub: list[dict[str, Any]] | None = None, description: str = "",
         refs: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Build one RFC 7643 §7 attribute definition."""
    out: dict[str, Any] = {
        "name": name, "type": type_, "multiValued": multi, "description": description or name,
        "required": required, "caseExact": case_exact, "mutability": mutability,
        "returned": returned, "uniqueness": uniqueness,
    }
    if canonical:
        out["canonicalValues"] = list(canonical)
    if sub is not None:
        out["subAttributes"] = sub
    if refs:
        out["referenceTypes"] = list(refs)
    return out


def _multi_sub(types: tuple[str, ...], value_desc: str) -> list[dict[str, Any]]:
    return [
        attr("value", description=value_desc),
        attr("display", description="A human-readable name, for display only."),
        attr("type", canonical=types, description="A label indicating the attribute's function."),
        attr("primary", "boolean", description="The primary or preferred value."),
    ]


USER_ATTRIBUTES: list[dict[str, Any]] = [
    attr("userName", required=True, uniqueness="server",
         description="Unique identifier for the user, used to sign in."),
    attr("name", "complex", sub=[
        attr("formatted"), attr("familyName", description="Surname, without accents (R1)."),
        attr("givenName", description="First name, without accents (R1)."),
        attr("middleName"), attr("honorificPrefix"), attr("honorificSuffix"),
    ], description="The components of the user's name."),
    attr("displayName", description="Name for display, derived from the name when absent (R1)."),
    attr("nickName"),
    attr("title", description="Job title (poste occupé)."),
    attr("userType"),
    attr("preferredLanguage"),
    attr("locale"),
    attr("timezone"),
    attr("active", "boolean", description="False declares a departure (R8)."),
    attr("password", mutability="writeOnly", returned="never",
         description="4 to 10 letters and digits (R3). Never returned."),
    attr("emails", "complex", multi=True, sub=_multi_sub(("work", "home", "other"), "E-mail."),
         description="E-mail addresses; a primary one is required for access (R2)."),
    attr("phoneNumbers", "complex", multi=True,
         sub=_multi_sub(("work", "home", "mobile", "fax", "pager", "other"), "Phone number."),
         description="Phone numbers."),
    attr("groups", "complex", multi=True, mutability="readOnly", sub=[
        attr("value", mutability="readOnly"),
        attr("$ref", "reference", mutability="readOnly", refs=("Group",)),
        attr("display", mutability="readOnly"),
        attr("type", mutability="readOnly", canonical=("direct", "indirect")),
    ], description="The étude teams the user belongs to (read-only)."),
]

ENTERPRISE_ATTRIBUTES: list[dict[str, Any]] = [
    attr("employeeNumber"), attr("costCenter"), attr("organization"), attr("division"),
    attr("department"),
    attr("manager", "complex", sub=[
        attr("value"), attr("$ref", "reference", refs=("User",)),
        attr("displayName", mutability="readOnly"),
    ]),
]

# Étude dates are days, strings `YYYY-MM-DD` (the form's dates), not RFC 7643 §2.3.5 dateTimes: a
# client reading /Schemas must not expect a time part. A full date-time is still accepted.
ETUDE_USER_ATTRIBUTES: list[dict[str, Any]] = [
    attr("etude", description="Étude code: the token's for étude tokens, required with an "
         "admin token (R11)."),
    attr("profile", description="Access profile (R6); canonical values: mappings/profiles.yaml."),
    attr("platforms", multi=True,
         description="Platforms granted (R6); canonical values: mappings/platforms.yaml."),
    attr("titulaire", "boolean", description="Holds the étude (true) or collaborator (false) "
         "(R4)."),
    attr("kbisDate", description="Date of the K-bis extract, YYYY-MM-DD; at most 3 "
         "months old when submitted (R4)."),
    attr("employerAttestationDate",
         description="Date of the employer attestation, YYYY-MM-DD (R4)."),
    attr("contractType", canonical=("CDI", "CDD"), description="Employment contract (R5)."),
    attr("contractEndDate", description="Planned end of a CDD, YYYY-MM-DD (R5)."),
    attr("departureDate", description="Last day at the étude, YYYY-MM-DD (R8)."),
    attr("departureDeclaredBy", mutability="readOnly",
         description="portal:<login> when the titulaire declared the departure in « Mon "
         "étude »; a PUT that omits departureDate then keeps it (R8)."),
    attr("confidentialityAcceptedDate",
         description="Day the confidentiality clause was signed, YYYY-MM-DD (R7)."),
    attr("accessStatus", mutability="readOnly", canonical=ACCESS_STATUSES,
         description="granted, pending, expired or revoked."),
    attr("accessIssues", "complex", multi=True, mutability="readOnly", sub=[
        attr("code", mutability="readOnly", case_exact=True),
        attr("detail", mutability="readOnly"),
    ], description="One entry per unmet condition of access."),
    attr("passwordEmail", mutability="readOnly", canonical=("sent", "failed"),
         description="Whether Keycloak's set-your-password e-mail left (R3)."),
]

GROUP_ATTRIBUTES: list[dict[str, Any]] = [
    attr("displayName", required=True, description="Team name, unique within the étude."),
    attr("members", "complex", multi=True, sub=[
        attr("value", mutability="immutable"),
        attr("$ref", "reference", mutability="immutable", refs=("User",)),
        # Accepted from clients (Okta sends it) and ignored; RFC 7643 §8.7.1 does not return it.
        attr("display", mutability="readOnly", returned="never"),
        attr("type", mutability="immutable", canonical=("User",)),
    ], description="The team's members (users of the same étude)."),
]

ETUDE_GROUP_ATTRIBUTES: list[dict[str, Any]] = [
    attr("etude", description="Étude code of the team: the token's for étude tokens, "
         "required with an admin token; a team never changes étude."),
    attr("delegatedPermissions", multi=True,
         description="Client roles delegated to the team's granted members on the team's "
         "platforms, beyond their profile (R12); canonical values: mappings/permissions.yaml."),
    attr("platforms", multi=True,
         description="Platforms on which the delegation applies (mappings/platforms.yaml)."),
]


SCHEMAS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    USER: ("User", "User Account", USER_ATTRIBUTES),
    ENTERPRISE: ("EnterpriseUser", "Enterprise User", ENTERPRISE_ATTRIBUTES),
    ETUDE_USER: ("EtudeUser", "Étude staff member: the conditions of the access-request form",
                 ETUDE_USER_ATTRIBUTES),
    GROUP: ("Group", "Étude team", GROUP_ATTRIBUTES),
    ETUDE_GROUP: ("EtudeGroup", "Team delegation (R12)", ETUDE_GROUP_ATTRIBUTES),
}

COMMON_ATTRIBUTES: list[dict[str, Any]] = [
    attr("id", mutability="readOnly", returned="always", case_exact=True, uniqueness="server"),
    attr("externalId", case_exact=True),
    attr("meta", "complex", mutability="readOnly", sub=[
        attr("resourceType", mutability="readOnly", case_exact=True),
        attr("created", "dateTime", mutability="readOnly"),
        attr("lastModified", "dateTime", mutability="readOnly"),
        attr("location", "reference", mutability="readOnly", case_exact=True),
        attr("version", mutability="readOnly", case_exact=True),
    ]),
]

RESOURCE_TYPES: dict[str, tuple[str, list[str]]] = {
    "User": (USER, [ENTERPRISE, ETUDE_USER]),
    "Group": (GROUP, [ETUDE_GROUP]),
}


def schemas_of(resource_type: str) -> list[str]:
    """Return the core URN then the extension URNs of a resource type."""
    core, extensions = RESOURCE_TYPES[resource_type]
    return [core, *extensions]
