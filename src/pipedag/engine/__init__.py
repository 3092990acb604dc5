"""Engines execute a flow's tasks; they share the cache decisions and stage publishing."""
