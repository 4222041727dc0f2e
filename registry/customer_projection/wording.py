"""Change events in the words customers read: one title and one summary per kind of event,
for the public feed (/feeds/subprocessors.atom) and /v1/changes.atom alike.

A change is given flat, as /v1/changes shows it: `type`, `at` and its data (`subprocessor`,
the version it concerns, `effective_on`, `objection_deadline`, ...).
"""

from __future__ import annotations

from ..law.destinations import destination
from . import words

LABELS = {
    "subprocessor.announced": "New sub-processor",
    "subprocessor.changed": "Material change",
    "subprocessor.retired": "Retirement",
}

# Why a verdict changed with no write: its `reason`.
_REASONS = {
    "law": "a change in the reference law",
    "date": "the date (a decision ending or expiring)",
    "rules": "new rules of evaluation",
}


def title(change: dict) -> str:
    """A line: who, what and from when."""
    kind, name = change["type"], change["subprocessor"]["name"]
    if kind == "subprocessor.announced":
        return f"New sub-processor: {name}, from {change['effective_on']}"
    if kind == "subprocessor.changed" and change.get("pending"):
        return f"Change to {name}, from {change['effective_on']}"
    if kind == "subprocessor.changed":
        return f"Change to {name}, in force at once"
    if kind == "subprocessor.retired":
        return f"{name} {_retires(change)} on {change['retired_on']}"
    if kind == "subprocessor.recorded":
        return f"{name} recorded as in use since {change['effective_on']}"
    if kind == "subprocessor.verdict_changed":
        return f"Verdict for {name}: {change['verdict']['to']['status']}"
    if kind.startswith("incident."):
        return f"Personal-data breach at {name} ({change['incident']['status']})"
    if kind == "objection.resolved":
        return f"Objection to {name} {change['objection']['status']}"
    if kind == "documentation_request.fulfilled":
        return f"Transfer documentation ready: {name}"
    return f"{name}: {kind}"


def summary(change: dict, where: str = "") -> str:
    """A few sentences; `where`, when given, ends it (the transfers, see transfers())."""
    text = _summary(change)
    return f"{text} {where}" if where else text


def _summary(change: dict) -> str:
    kind, record = change["type"], change["subprocessor"]
    who = f"{record['name']} ({words.service_name(record['service'])})"
    if kind == "subprocessor.announced":
        purpose = f" for: {record['purpose']}" if record.get("purpose") else ""
        return (
            f"{who} will be used from {change['effective_on']}{purpose}. Objections until "
            f"{change['objection_deadline']}."
        )
    if kind == "subprocessor.changed" and change.get("pending"):
        reasons = "; ".join(change.get("reasons") or []) or "changes its record"
        return (
            f"From {change['effective_on']}, {who} {reasons}. Objections until "
            f"{change['objection_deadline']}."
        )
    if kind == "subprocessor.changed":
        return f"{who} changed, in force at once: {', '.join(sorted(change.get('changes', {})))}."
    if kind == "subprocessor.retired":
        text = f"{who} is no longer used from {change['retired_on']}."
        reason = change.get("retired_reason")
        return f"{text} Reason: {reason}" if reason else text
    if kind == "subprocessor.recorded":
        return f"{who} recorded as in use since {change['effective_on']}."
    if kind == "subprocessor.verdict_changed":
        verdict = change["verdict"]
        return (
            f"{who}: verdict {verdict['from']['status']} to {verdict['to']['status']} on "
            f"{change['as_of']}, because of {_REASONS[change['reason']]}."
        )
    if kind.startswith("incident."):
        incident = change["incident"]
        return (
            f"A personal-data breach at {record['name']}, detected {incident['detected_on']} "
            f"(version {incident['version']}, {incident['status']}): {incident['nature']}"
        )
    if kind == "objection.resolved":
        objection = change["objection"]
        text = f"Your objection to {record['name']} ({objection['change_id']}) was "
        text += f"{objection['status']}."
        return text + (f" Response: {objection['response']}" if objection["response"] else "")
    if kind == "documentation_request.fulfilled":
        ready = change["documentation_request"]
        return (
            f"The copy you asked for ({ready['id']}) is ready: document "
            f"{ready['document_id']}, for {record['name']}."
        )
    return f"{who}: {kind}."


def transfers(facts: dict, lead: str = "Where") -> str:
    """Where data goes, from the customer projection's facts of a sub-processor."""
    places = [words.transfer(fact) for fact in facts["locations"]]
    places += [
        f"onward to {fact['name']}, {words.transfer(fact)}" for fact in facts["onward_transfers"]
    ]
    return f"{lead}: " + "; ".join(places) + "." if places else ""


def countries(record: dict, lead: str = "Where") -> str:
    """Where data goes, when only the countries are at hand."""
    found = sorted({destination(location) for location in record.get("locations") or ()})
    return f"{lead}: {', '.join(found)}." if found else ""


def _retires(change: dict) -> str:
    return "retires" if change["retired_on"] > change["at"][:10] else "retired"
