"""Check names of the posts domain (constants: referenced by assets, jobs and tests)."""

TAGS_PERSISTED = "tags_persisted"
