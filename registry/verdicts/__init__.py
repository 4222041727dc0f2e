"""Verdicts of the register: the snapshot they are computed from, the daily sweep that
records them (`subprocessor.verdict_changed`), the compliance report."""
