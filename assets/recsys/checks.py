"""Check names of the recsys domain (constants: referenced by assets, jobs and tests)."""

VECTOR_COVERAGE = "vector_coverage"
