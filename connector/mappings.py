"""Load and validate the declarative mappings/ (permissions, profiles, platforms, password)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from connector.scim.schema_defs import Vocabulary

# A symlink to the top-level mappings/ in a checkout, real files in an installed wheel.
DEFAULT_DIR = (Path(__file__).parent / "default_mappings").resolve()
_NAME = validate.Regexp(r"^[a-z][a-z0-9_]*$", error="must be lower_snake_case")


class MappingError(Exception):
    """A mappings/ file is broken: the message names the file and the entry."""


@dataclass(frozen=True)
class Platform:
    """One platform of the form (R6): its Keycloak client and group root."""

    key: str
    label: str
    client_id: str
    group_root: str
    url: str
    shared_email: bool


@dataclass(frozen=True)
class Profile:
    """One profile of the annex: its permissions, each with the sentence granting it."""

    key: str
    label: str
    permissions: dict[str, str]
    denied: dict[str, str]


@dataclass(frozen=True)
class PasswordPolicy:
    """R3: length bounds and alphabet, applied in Keycloak and in SCIM."""

    min_length: int
    max_length: int
    alphabet: str

    def keycloak_policy(self) -> str:
        """Render the realm passwordPolicy string."""
        return (f"length({self.min_length}) and maxLength({self.max_length}) and "
                f"regexPattern(^[{self.alphabet}]+$)")


@dataclass(frozen=True)
class Mappings:
    """Everything mappings/ declares, validated."""

    permissions: dict[str, str]
    profiles: dict[str, Profile]
    platforms: dict[str, Platform]
    password: PasswordPolicy

    def vocabulary(self) -> Vocabulary:
        """Return the canonical values /Schemas publishes (R6, R12)."""
        return Vocabulary(tuple(self.profiles), tuple(self.platforms), tuple(self.permissions))

    def platform_group(self, platform: str, profile: str) -> str:
        """Return the Keycloak group path of a profile on a platform."""
        return f"/{self.platforms[platform].group_root}/{profile}"


class _PlatformSchema(Schema):
    label = fields.String(required=True)
    client_id = fields.String(required=True, validate=_NAME)
    group_root = fields.String(required=True, validate=_NAME)
    url = fields.Url(required=True)
    shared_email = fields.Boolean(required=True)


class _ProfileSchema(Schema):
    label = fields.String(required=True)
    permissions = fields.Dict(keys=fields.String(validate=_NAME),
                              values=fields.String(validate=validate.Length(min=3)),
                              required=True, validate=validate.Length(min=1))
    denied = fields.Dict(keys=fields.String(validate=_NAME),
                         values=fields.String(validate=validate.Length(min=3)),
                         load_default=dict)


class _PasswordSchema(Schema):
    min_length = fields.Integer(required=True, validate=validate.Range(min=1))
    max_length = fields.Integer(required=True, validate=validate.Range(min=1))
    alphabet = fields.String(required=True, validate=validate.Length(min=1))


def _read(directory: Path, name: str) -> Any:
    path = directory / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MappingError(f"{path}: file missing") from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"entry '{prefix}': {'; '.join(messages)}"]
    return [f"entry '{prefix}': {messages}"]


def _load_entries(directory: Path, name: str, schema: Schema) -> dict[str, Any]:
    raw = _read(directory, name)
    if not isinstance(raw, dict) or not raw:
        raise MappingError(f"{directory / name}: expected a non-empty mapping of entries")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not re.match(r"^[a-z][a-z0-9_]*$", str(key)):
            raise MappingError(f"{directory / name}: entry '{key}': name must be lower_snake_case")
        try:
            out[str(key)] = schema.load(value if isinstance(value, dict) else {"": value})
        except ValidationError as exc:
            raise MappingError(f"{directory / name}: " + "; ".join(
                _flatten(exc.messages, str(key)))) from exc
    return out


def load_mappings(directory: Path | str | None = None) -> Mappings:
    """Load mappings/, failing fast with the file and the entry at fault."""
    base = Path(directory) if directory else DEFAULT_DIR
    permissions = _read(base, "permissions.yaml")
    if not isinstance(permissions, dict) or not all(
            isinstance(v, str) and re.match(r"^[a-z][a-z0-9_]*$", str(k))
            for k, v in permissions.items()):
        raise MappingError(f"{base / 'permissions.yaml'}: expected lower_snake_case names "
                           "each with a one-line description")
    profiles = _load_entries(base, "profiles.yaml", _ProfileSchema())
    for key, prof in profiles.items():
        for section in ("permissions", "denied"):
            for perm in prof[section]:
                if perm not in permissions:
                    raise MappingError(f"{base / 'profiles.yaml'}: entry '{key}.{section}."
                                       f"{perm}': not in the catalogue of permissions.yaml")
        both = set(prof["permissions"]) & set(prof["denied"])
        if both:
            raise MappingError(f"{base / 'profiles.yaml'}: entry '{key}': both granted and "
                               f"denied: {', '.join(sorted(both))}")
    platforms = _load_entries(base, "platforms.yaml", _PlatformSchema())
    try:
        pw = _PasswordSchema().load(_read(base, "password.yaml") or {})
    except ValidationError as exc:
        raise MappingError(f"{base / 'password.yaml'}: "
                           + "; ".join(_flatten(exc.messages))) from exc
    if pw["min_length"] > pw["max_length"]:
        raise MappingError(f"{base / 'password.yaml'}: entry 'min_length': exceeds max_length")
    return Mappings(
        permissions=dict(permissions),
        profiles={k: Profile(key=k, label=v["label"], permissions=dict(v["permissions"]),
                             denied=dict(v["denied"])) for k, v in profiles.items()},
        platforms={k: Platform(key=k, **v) for k, v in platforms.items()},
        password=PasswordPolicy(**pw),
    )


@lru_cache(maxsize=4)
def get_mappings(directory: str | None = None) -> Mappings:
    """Return the validated mappings, loaded once per process."""
    return load_mappings(directory)
