"""Allowed processors: which processors services may send a data category to, today."""
