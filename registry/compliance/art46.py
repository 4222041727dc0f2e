"""The rest of Art. 46 GDPR in the compliance engine: a legally binding and enforceable
instrument between public authorities or bodies (46(2)(a)); an approved code of conduct
(46(2)(e)) or certification mechanism (46(2)(f)), each with the importer's binding and
enforceable commitments, and for a certification the importer's certificate, issued for at
most three years (Art. 42(7)); contractual clauses authorised by a supervisory authority
(46(3)(a)); provisions in an administrative arrangement between public authorities or bodies
(46(3)(b)).

A safeguard counts from the last of its dates: a date not recorded, or after the evaluation
date, leaves the transfer with NO_SAFEGUARD. Each tool needs a transfer impact assessment as
SCCs do (EDPB Recommendations 01/2020 cover every Art. 46 tool).
"""

from __future__ import annotations

from datetime import date, timedelta

from .rules import Context, Location
from .safeguards import tia

# Codes of conduct (Art. 40) and certification mechanisms (Art. 42) are GDPR instruments: none
# could be approved before the Regulation applied (Art. 99(2)). Ad hoc clauses and
# administrative arrangements have no such floor: authorisations given under Art. 26(2) of
# Directive 95/46/EC stay valid until amended, replaced or repealed (Art. 46(5)).
GDPR_APPLIES_FROM = date(2018, 5, 25)

# Art. 42(7) GDPR: a certification is issued for a maximum period of three years.
CERTIFICATE_MAX_YEARS = 3

# mechanism: (what it is called in a sentence, its provision).
TOOLS = {
    "public_authority_instrument": (
        "the legally binding and enforceable instrument between public authorities or bodies",
        "Art. 46(2)(a) GDPR",
    ),
    "code_of_conduct": ("the approved code of conduct", "Art. 46(2)(e) GDPR"),
    "certification": ("the approved certification mechanism", "Art. 46(2)(f) GDPR"),
    "ad_hoc_clauses": ("the contractual clauses authorised", "Art. 46(3)(a) GDPR"),
    "administrative_arrangement": ("the administrative arrangement", "Art. 46(3)(b) GDPR"),
}


def _tool(mechanism: str, safeguard: dict) -> str:
    name, provision = TOOLS[mechanism]
    reference = safeguard.get("reference")
    return f"{name}{f' {reference!r}' if reference else ''} ({provision})"


def _dated(
    loc: Location, ctx: Context, safeguard: dict, field: str, event: str, tool: str
) -> date | None:
    """The date `field` records for `event`, if it counts on the evaluation date; otherwise
    NO_SAFEGUARD naming the date."""
    day = ctx.day(safeguard.get(field))
    if day is None:
        loc.flag(
            "NO_SAFEGUARD",
            f"No date is recorded for {event} ({field}) under {tool} for the transfer to "
            f"{loc.country}, so it is no safeguard until that date is recorded.",
        )
        return None
    if day > ctx.on:
        loc.flag(
            "NO_SAFEGUARD",
            f"Under {tool}, {event} is dated {day.isoformat()} ({field}), after the "
            f"evaluation date {ctx.on.isoformat()}, so it does not count on that date.",
        )
        return None
    return day


def _approved_with_commitment(loc: Location, safeguard: dict, ctx: Context, kind: str) -> None:
    tool = _tool(kind, safeguard)
    what = (
        "the code's approval for transfers, with general validity in the Union "
        "(Art. 40(3), (5) and (9) GDPR)"
        if kind == "code_of_conduct"
        else "the certification mechanism's approval (Art. 42(2) and (5) GDPR)"
    )
    approved = _dated(loc, ctx, safeguard, "approved_on", what, tool)
    if approved is not None and approved < GDPR_APPLIES_FROM:
        loc.flag(
            "NO_SAFEGUARD",
            f"Under {tool}, the approval is dated {approved.isoformat()} (approved_on), before "
            f"the GDPR applied on {GDPR_APPLIES_FROM.isoformat()}: no code of conduct or "
            f"certification could be approved as a transfer tool then. Check the date.",
        )
    _dated(
        loc,
        ctx,
        safeguard,
        "binding_commitment_on",
        "the importer's binding and enforceable commitment to apply the safeguards, data "
        "subjects' rights included",
        tool,
    )
    tia(loc, safeguard, ctx, tool)


def code_of_conduct(loc: Location, safeguard: dict, ctx: Context) -> None:
    _approved_with_commitment(loc, safeguard, ctx, "code_of_conduct")


def certificate_ends(certified: date, expires: date | None) -> date:
    """The first day a certificate issued on `certified` no longer counts: its recorded expiry
    (`certificate_expires_on`, itself no longer a day of validity), and at the latest the same
    calendar day three years after issue (Art. 42(7) GDPR); for a certificate issued on 29
    February, 28 February three years later (the last day of that month)."""
    year = certified.year + CERTIFICATE_MAX_YEARS
    if year > date.max.year:
        return date.max if expires is None else expires
    try:
        cap = certified.replace(year=year)
    except ValueError:  # 29 February, and that year has none
        cap = date(year, 3, 1) - timedelta(days=1)
    return cap if expires is None else min(cap, expires)


def _certificate(loc: Location, safeguard: dict, ctx: Context) -> None:
    """The importer's certificate (Art. 42(5), (7) GDPR): issued under the approved mechanism,
    counting from its issue to its expiry, three years at most."""
    tool = _tool("certification", safeguard)
    certified = _dated(
        loc,
        ctx,
        safeguard,
        "certified_on",
        "the issue of the importer's certificate (Art. 42(5) and (7) GDPR)",
        tool,
    )
    if certified is None:
        return
    approved = ctx.day(safeguard.get("approved_on"))
    if approved is not None and certified < approved:
        loc.flag(
            "NO_SAFEGUARD",
            f"Under {tool}, the importer's certificate is dated {certified.isoformat()} "
            f"(certified_on), before the mechanism's approval on {approved.isoformat()} "
            f"(approved_on): a certificate is issued on approved criteria (Art. 42(5) GDPR). "
            f"Check the dates.",
        )
    ends = certificate_ends(certified, ctx.day(safeguard.get("certificate_expires_on")))
    if ctx.on >= ends:
        why = (
            "its recorded expiry (certificate_expires_on)"
            if ends == ctx.day(safeguard.get("certificate_expires_on"))
            else f"three years after its issue on {certified.isoformat()} (certified_on; "
            f"Art. 42(7) GDPR: issued for at most three years, renewable)"
        )
        loc.flag(
            "NO_SAFEGUARD",
            f"Under {tool}, the importer's certificate no longer counts from "
            f"{ends.isoformat()}, {why}: the transfer to {loc.country} has no safeguard on "
            f"{ctx.on.isoformat()} until a renewed certificate is recorded.",
        )


def certification(loc: Location, safeguard: dict, ctx: Context) -> None:
    _approved_with_commitment(loc, safeguard, ctx, "certification")
    _certificate(loc, safeguard, ctx)


def _authorised(loc: Location, safeguard: dict, ctx: Context, tool: str, articles: str) -> None:
    """Clauses or provisions a supervisory authority authorised: the authorisation's date must
    count on the evaluation date, and a transfer impact assessment is needed."""
    _dated(
        loc,
        ctx,
        safeguard,
        "authorised_on",
        "the competent supervisory authority's authorisation (after the consistency "
        f"mechanism, {articles} GDPR)",
        tool,
    )
    tia(loc, safeguard, ctx, tool)


def ad_hoc_clauses(loc: Location, safeguard: dict, ctx: Context) -> None:
    _authorised(loc, safeguard, ctx, _tool("ad_hoc_clauses", safeguard), "Art. 46(4) and 64(1)(e)")


def _public_bodies(loc: Location, safeguard: dict, tool: str) -> None:
    """NO_SAFEGUARD unless both sides attest to be public authorities or bodies."""
    sides = [
        side
        for side, field in (
            ("exporter", "exporter_public_body"),
            ("importer", "importer_public_body"),
        )
        if safeguard.get(field) is not True
    ]
    if sides:
        loc.flag(
            "NO_SAFEGUARD",
            f"{tool[0].upper()}{tool[1:]} is a safeguard only between public authorities or "
            f"bodies, and the {' and the '.join(sides)} of the transfer to {loc.country} "
            f"{'is' if len(sides) == 1 else 'are'} not attested to be one "
            f"(exporter_public_body, importer_public_body).",
        )


def administrative_arrangement(loc: Location, safeguard: dict, ctx: Context) -> None:
    tool = _tool("administrative_arrangement", safeguard)
    _public_bodies(loc, safeguard, tool)
    _authorised(loc, safeguard, ctx, tool, "Art. 46(4)")


def public_authority_instrument(loc: Location, safeguard: dict, ctx: Context) -> None:
    """Art. 46(2)(a) GDPR: no supervisory authority's authorisation is needed; the instrument
    counts from its conclusion, between public authorities or bodies only, and not before the
    GDPR applied (under Directive 95/46/EC such transfers needed a Member State's
    authorisation, Art. 26(2)). An instrument concluded earlier counts from that day on."""
    tool = _tool("public_authority_instrument", safeguard)
    _public_bodies(loc, safeguard, tool)
    if ctx.on < GDPR_APPLIES_FROM:
        loc.flag(
            "NO_SAFEGUARD",
            f"{tool[0].upper()}{tool[1:]} is a safeguard only from "
            f"{GDPR_APPLIES_FROM.isoformat()}, when the GDPR applied; on "
            f"{ctx.on.isoformat()} Directive 95/46/EC required a Member State's authorisation "
            f"(Art. 26(2)) for the transfer to {loc.country}.",
        )
    _dated(
        loc,
        ctx,
        safeguard,
        "concluded_on",
        "the conclusion of the instrument by the public authorities or bodies",
        tool,
    )
    tia(loc, safeguard, ctx, tool)


CHECKS = {
    "public_authority_instrument": public_authority_instrument,
    "code_of_conduct": code_of_conduct,
    "certification": certification,
    "ad_hoc_clauses": ad_hoc_clauses,
    "administrative_arrangement": administrative_arrangement,
}
