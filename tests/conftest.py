"""The root of the test tree: unit/ holds the pure functions, integration/ the real Keycloak."""
