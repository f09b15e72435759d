"""Benchmarks against the real local Keycloak; each prints ratios to the direct Admin API."""
