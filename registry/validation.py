"""Checks of a sub-processor against the reference law: decisions and SCC versions that exist."""

from __future__ import annotations

from .errors import ValidationFailed, field_error
from .law import Law


def check_locations(locations: list[dict], law: Law, prefix: str = "/locations") -> list[dict]:
    """Errors (with JSON pointers) for locations the law cannot make sense of."""
    errors: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for index, location in enumerate(locations):
        here = f"{prefix}/{index}"
        key = (location["country"], location["activity"])
        if key in seen:
            errors.append(
                field_error(f"{here}/activity", "The same country and activity are listed twice.")
            )
        seen.add(key)
        safeguard = location.get("safeguard")
        if not safeguard:
            continue
        mechanism = safeguard["mechanism"]
        if mechanism == "adequacy" and "adequacy_decision" in safeguard:
            decision = law.decision(safeguard["adequacy_decision"])
            pointer = f"{here}/safeguard/adequacy_decision"
            if decision is None:
                errors.append(field_error(pointer, "No adequacy decision has this id."))
            elif decision.territory != location["country"]:
                errors.append(
                    field_error(
                        pointer,
                        f"{decision.id} covers {decision.territory_name}, "
                        f"not {location['country']}.",
                    )
                )
        if mechanism == "scc":
            version = law.scc_version(safeguard["scc_version"])
            module = safeguard.get("scc_module")
            if version is None:
                known = ", ".join(sorted(s.id for s in law.scc_versions))
                errors.append(
                    field_error(
                        f"{here}/safeguard/scc_version", f"Unknown SCC version; known: {known}."
                    )
                )
            elif version.modules and module is None:
                errors.append(
                    field_error(
                        f"{here}/safeguard/scc_module",
                        f"Required for SCC {version.id} (modules {list(version.modules)}).",
                    )
                )
            elif module is not None and module not in version.modules:
                errors.append(
                    field_error(f"{here}/safeguard/scc_module", f"SCC {version.id} has no modules.")
                )
    return errors


def check_assume_ended(ids: list[str], law: Law) -> None:
    errors = [
        field_error(
            f"/assume_ended/{i}", f"No adequacy decision has the id {d!r}.", location="query"
        )
        for i, d in enumerate(ids)
        if law.decision(d) is None
    ]
    if errors:
        raise ValidationFailed(errors)
