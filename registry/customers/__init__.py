"""Customers' personal data: what the registry holds of each, erasure on request, retention."""
