"""The root of the test tree: unit/ holds the pure functions, integration/ the real Keycloak,
topology/ the production topology of `make topology`."""

import os

# The tests run on the development Keycloak as its bootstrap administrator: dev mode, said
# explicitly (outside it, commands refuse to run without CONNECTOR_CLIENT_SECRET).
os.environ.setdefault("CONNECTOR_DEV_MODE", "1")
