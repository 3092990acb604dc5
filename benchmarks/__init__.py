"""Performance benchmarks, reported as ratios against baselines measured in the same run.

Run all: ``python -m benchmarks``; one: ``python -m benchmarks.flow_overhead``.
"""
