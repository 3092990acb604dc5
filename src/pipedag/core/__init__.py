"""Flows, stages, tasks, tables and results: what users wire."""
