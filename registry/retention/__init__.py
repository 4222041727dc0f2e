"""Retention: what is older than REGISTRY_RETENTION_DAYS is purged, daily by the worker."""
