"""Waivers: staff accept the risk of one warning on one sub-processor, until a date."""
