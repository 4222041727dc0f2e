"""The adequacy checks of the compliance engine: a decision named or relied on by law, its
conditions, scope and end of cover, and what is said when none covers a country."""

from __future__ import annotations

from datetime import date

from ..law.model import AdequacyDecision, ScopeCondition
from .rules import (
    ADEQUACY_ENDING_DAYS,
    CERTIFICATION_STALE_DAYS,
    Context,
    Location,
    certification_stale_on,
    describe,
)


def no_safeguard(loc: Location, ctx: Context) -> None:
    in_force = ctx.in_force(loc.country)
    unconditional = [d for d in in_force if d.condition is None]
    if unconditional:
        # Adequacy applies by law to the territory's recipients within the decision's scope.
        loc.mechanism = "adequacy"
        decision = unconditional[-1]
        _adequacy_applies(loc, ctx, decision)
        _scope(loc, {}, decision, by_law=True)
        return
    on = ctx.on.isoformat()
    if in_force:
        decision = in_force[-1]
        loc.flag(
            "NO_SAFEGUARD",
            f"No safeguard is recorded for {loc.country} on {on}; {describe(decision)} "
            f"covers only recipients meeting its {decision.condition} condition, so the "
            f"{decision.condition} must be attested through an adequacy safeguard.",
        )
        return
    loc.flag(
        "NO_SAFEGUARD",
        f"No safeguard is recorded for {loc.country} and no adequacy decision covers it "
        f"on {on}{_why_no_decision(loc.country, ctx)}.",
    )


def _why_no_decision(country: str, ctx: Context) -> str:
    """A clause explaining the absence of adequacy: what ended, what is assumed, what is to come."""
    on = ctx.on
    history = [d for d in ctx.law.decisions_for(country) if d.kind == "adequacy"]
    assumed = [
        d.id for d in history if d.adopted <= on and d.in_force_on(on) and d.id in ctx.assume_ended
    ]
    if assumed:
        return f"; {', '.join(assumed)} is assumed ended in this evaluation"
    past = [d for d in history if d.in_force_from <= on and d.adopted <= on]
    if past:
        return f"; {_ended_clause(past[-1])}"
    upcoming = [d for d in history if d.in_force_from > on and d.adopted <= on]
    if upcoming:
        return (
            f"; {describe(upcoming[0])} applies only from {upcoming[0].in_force_from.isoformat()}"
        )
    return ""


def _ended_clause(decision: AdequacyDecision) -> str:
    if decision.ended_on is not None and (
        decision.expires_on is None or decision.ended_on <= decision.expires_on
    ):
        by = f", ended by {decision.ended_by}" if decision.ended_by else ""
        return f"{describe(decision)} ceased to apply on {decision.ended_on.isoformat()}{by}"
    if decision.expires_on is not None:
        return f"{describe(decision)} expired after {decision.expires_on.isoformat()}"
    return f"{describe(decision)} is not in force"


def adequacy(loc: Location, safeguard: dict, ctx: Context) -> None:
    named = safeguard.get("adequacy_decision")
    on = ctx.on
    if named:
        loc.adequacy_decision = named
        decision, problem = _named_decision(named, loc.country, ctx)
        if problem:
            loc.flag("ADEQUACY_NOT_IN_FORCE", problem)
            return
    else:
        in_force = ctx.in_force(loc.country)
        if not in_force:
            loc.flag(
                "ADEQUACY_NOT_IN_FORCE",
                f"Adequacy is claimed for {loc.country}, but no adequacy decision covers it "
                f"on {on.isoformat()}{_why_no_decision(loc.country, ctx)}.",
            )
            return
        decision = in_force[-1]
    assert decision is not None  # _named_decision rules out unknown ids
    if decision.condition == "certification":
        _certification(loc, safeguard, ctx, decision)
    _adequacy_applies(loc, ctx, decision)
    _scope(loc, safeguard, decision, by_law=False)


def _named_decision(
    named: str, country: str, ctx: Context
) -> tuple[AdequacyDecision | None, str | None]:
    """The act a named decision leads to on the date (itself, or its extension or renewal)."""
    decision = ctx.law.decision(named)
    on = ctx.on.isoformat()
    led = ctx.law.law_enforcement_decision(named) if decision is None else None
    if led is not None:
        return None, (
            f"{describe(led)} is an adequacy decision under Directive (EU) 2016/680, for "
            f"transfers to law-enforcement authorities; it covers no transfer under the GDPR."
        )
    if decision is None or decision.kind != "adequacy":
        return None, f"Adequacy decision {named} is not in the reference law."
    if decision.destination != country:
        return None, (
            f"{describe(decision)} covers {decision.territory_name}, not {country}, "
            f"so it is no safeguard for this transfer."
        )
    if decision.adopted > ctx.on:
        return None, (
            f"{describe(decision)} was adopted on {decision.adopted.isoformat()}, "
            f"after {on}, so it is no safeguard on that date."
        )
    if ctx.on < decision.in_force_from:
        return None, (
            f"{describe(decision)} applies only from {decision.in_force_from.isoformat()}, "
            f"not yet on {on}."
        )
    current = ctx.current_act(decision)
    if current is None:
        assumed = ctx.assumed_in_line(decision)
        if assumed is not None:
            return None, (
                f"{assumed.id} is assumed ended in this evaluation; it would cover "
                f"{decision.territory_name} on {on} in the line of {decision.id} "
                f"({assumed.instrument})."
            )
        return None, f"{_ended_clause(decision)}, so it is no safeguard on {on}."
    return current, None


def _framework_start(decision: AdequacyDecision, ctx: Context) -> date:
    """The first day of the framework a decision belongs to (its first act's start)."""
    start, seen = decision, {decision.id}
    while start.continues and start.continues not in seen:
        earlier = ctx.law.decision(start.continues)
        if earlier is None:
            break
        seen.add(earlier.id)
        start = earlier
    return start.in_force_from


def _certification(
    loc: Location, safeguard: dict, ctx: Context, decision: AdequacyDecision
) -> None:
    on = ctx.on
    if safeguard.get("certified") is not True:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"{describe(decision)} covers only certified recipients, and the recipient's "
            f"certification is not attested.",
        )
        return
    checked = ctx.day(safeguard.get("certification_checked_on"))
    if checked is None:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"{describe(decision)} covers only certified recipients, and no date is recorded "
            f"for the certification check.",
        )
        return
    if checked > on:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"The certification under {decision.id} was checked on {checked.isoformat()}, "
            f"after {on.isoformat()}, so it is no evidence of certification on that date.",
        )
        return
    started = _framework_start(decision, ctx)
    if checked < started:
        loc.flag(
            "ADEQUACY_CONDITION_UNMET",
            f"The certification was checked on {checked.isoformat()}, before the framework "
            f"of {decision.id} started on {started.isoformat()}, so it is no evidence of "
            f"certification under it.",
        )
        return
    if on >= certification_stale_on(checked):
        age = (on - checked).days
        loc.flag(
            "CERTIFICATION_CHECK_STALE",
            f"The certification under {decision.id} was last checked on {checked.isoformat()}, "
            f"{age} days before {on.isoformat()} (more than {CERTIFICATION_STALE_DAYS}).",
        )


def _scope(loc: Location, safeguard: dict, decision: AdequacyDecision, *, by_law: bool) -> None:
    """Each scope condition of the decision, as attested for this recipient."""
    attested = safeguard.get("scope_attestations")
    attested = attested if isinstance(attested, dict) else {}
    for condition in decision.scope_conditions:
        if not _concerns(condition, loc.categories):
            continue
        value = attested.get(condition.code)
        if value is False:
            loc.flag(
                "ADEQUACY_SCOPE_UNMET",
                f"{describe(decision)} covers only recipients that meet "
                f"{condition.code!r} ({condition.text}), and this recipient does not.",
            )
        elif value is not True:
            how = (
                "No safeguard is recorded, so adequacy by law is relied on, and nothing "
                "attests that"
                if by_law
                else "The safeguard does not attest that"
            )
            loc.flag(
                "ADEQUACY_SCOPE_UNCONFIRMED",
                f"{how} the recipient meets {condition.code!r} ({condition.text}), which "
                f"{describe(decision)} requires.",
            )


def _concerns(condition: ScopeCondition, categories: tuple[str, ...]) -> bool:
    """Whether a scope condition applies to a transfer of these data categories: always, unless
    it is limited to some categories; then when one received is one of them, or above or below
    one (`user` includes `user.job_title`; `user.job_title` is itself job-title data)."""
    if not condition.data_categories:
        return True
    # A fideslang key extends its parent's key with a dot: `user.job_title` is below `user`.
    return any(
        mine == theirs or mine.startswith(f"{theirs}.") or theirs.startswith(f"{mine}.")
        for mine in categories
        for theirs in condition.data_categories
    )


def _adequacy_applies(loc: Location, ctx: Context, decision: AdequacyDecision) -> None:
    loc.relies_on(decision, ctx)
    expires, continuing = ctx.coverage_end(decision)
    for act in continuing:  # the end of cover rests on them too
        loc.rests_on(f"{act.id} (continuing {decision.id})", act.verified, act.notes)
    if expires is not None and decision.ended_on is None:
        left = (expires - ctx.on).days
        if left <= ADEQUACY_ENDING_DAYS:
            loc.flag(
                "ADEQUACY_ENDING",
                f"{describe(decision)} expires after {expires.isoformat()}, {left} days after "
                f"{ctx.on.isoformat()}; no act adopted by {ctx.on.isoformat()} extends or "
                f"renews it.",
            )


def covered_by_adequacy(country: str, ctx: Context) -> AdequacyDecision | None:
    """An adequacy decision covering every recipient in `country` on the date, if any."""
    full = [d for d in ctx.in_force(country) if d.condition is None and not d.scope_conditions]
    return full[-1] if full else None
