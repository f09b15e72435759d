"""SCIM 2.0 provisioning connector: étude staff onto Keycloak for Mars and V3."""

__version__ = "0.2.0"
