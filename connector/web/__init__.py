"""The HTTP face of the connector: the SCIM app, its admission, probes and server."""

SCIM_PREFIX = "/scim/v2"  # where RFC 7644 resources are served (probes and portal are not)
