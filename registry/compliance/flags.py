"""Every flag code the registry raises, with its severity: the one list of them.

The engine raises the transfer flags on a sub-processor's record; the register raises
INCIDENT_NOTICE_OVERDUE on a breach not communicated in time. Reports, the CLI, the schemas
and the tests read the codes from here.
"""

from __future__ import annotations

ERROR = "error"
WARNING = "warning"
# Not a finding about a transfer: a caveat about the registry's own reference data.
NOTE = "note"

# Raised by the engine on a sub-processor's transfers (compliance.engine).
TRANSFER_FLAGS: dict[str, str] = {
    "NO_SAFEGUARD": ERROR,
    "ADEQUACY_NOT_IN_FORCE": ERROR,
    "ADEQUACY_CONDITION_UNMET": ERROR,
    "ADEQUACY_SCOPE_UNMET": ERROR,
    "SCC_SUPERSEDED": ERROR,
    "SCC_MODULE_MISMATCH": ERROR,
    "DEROGATION_NOT_AVAILABLE": ERROR,
    "TIA_MISSING": ERROR,
    "TIA_OUTCOME_PROBLEMATIC": ERROR,
    "TIA_REVIEW_DUE": WARNING,
    "TIA_RESTS_ON_ENDED_DECISION": WARNING,
    "DEROGATION_RELIED_ON": WARNING,
    "ADEQUACY_ENDING": WARNING,
    "ADEQUACY_SCOPE_UNCONFIRMED": WARNING,
    "CERTIFICATION_CHECK_STALE": WARNING,
    "SCC_COPY_MISSING": WARNING,
    "BCR_COPY_MISSING": WARNING,
    "SCC_IMPORTER_SUBJECT_TO_GDPR": WARNING,
    "NOTICE_PERIOD_SHORT": WARNING,
}

# Codes the engine may raise as a warning in the cases the rules name, though their severity
# above is error: TIA_MISSING for the US while the EU-US Data Privacy Framework applies (the
# EO 14086 safeguards cover every transfer there; EDPB information note of 18 July 2023), and
# on a date before the Court of Justice's judgment in C-311/18 (16 July 2020).
ALSO_WARNING: frozenset[str] = frozenset({"TIA_MISSING"})

# Raised by the engine beside the flags, in `notes`: about the reference law in data/, not
# about the sub-processor, so never a warning and never a reason to fail a check. Staff read
# them; customers never do.
TRANSFER_NOTES: dict[str, str] = {
    "LAW_UNVERIFIED": NOTE,
}

# A personal-data breach still not communicated to customers REGISTRY_INCIDENT_NOTICE_HOURS
# after its detection (incidents.service).
INCIDENT_NOTICE_OVERDUE = "INCIDENT_NOTICE_OVERDUE"
# Raised on the register, not on one sub-processor's transfers.
REGISTER_FLAGS: dict[str, str] = {INCIDENT_NOTICE_OVERDUE: ERROR}

# Every flag code, with its severity.
SEVERITY: dict[str, str] = {**TRANSFER_FLAGS, **REGISTER_FLAGS}
# Every code a verdict or the register can carry: flags and notes.
CODES: tuple[str, ...] = (*SEVERITY, *TRANSFER_NOTES)
