"""Principals for tests: the core's selectors and readers need one explicitly (there is no default)."""

from dashboard.access import local_admin

ADMIN = local_admin("test")
