"""Run every core benchmark: ``python -m benchmarks``."""

from benchmarks import flow_overhead, ingest, sibling_change

if __name__ == "__main__":
    flow_overhead.main()
    sibling_change.main()
    ingest.main()
