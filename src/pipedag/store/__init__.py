"""Table stores: where stage tables live, and how a stage is published atomically."""
