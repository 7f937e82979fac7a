"""Placeholder until the conformance kit lands (owned by the kit engineer)."""
