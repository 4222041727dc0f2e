"""Schemas of sub-processors: create, update, query arguments and the response with compliance."""

from __future__ import annotations

import marshmallow as ma

from ..compliance import flags, rules
from ..http.fields import (
    IsoDate,
    PageArgsSchema,
    PageSchema,
    StrictBoolean,
    StrictSchema,
    text,
)
from ..law.fields import CountryCode, DataCategory

SERVICES = (
    "hosting",
    "database_management",
    "email_delivery",
    "customer_support",
    "monitoring",
    "analytics",
    "payments",
    "identity",
    "other",
)
ACTIVITIES = ("storage", "processing", "remote_access", "backup")
# The rest of Art. 46 GDPR: a legally binding and enforceable instrument between public
# authorities or bodies (46(2)(a)); an approved code of conduct (46(2)(e)) or certification
# (46(2)(f)) with the importer's binding and enforceable commitments; clauses authorised by a
# supervisory authority (46(3)(a)); an administrative arrangement between public bodies (46(3)(b)).
ART46_MECHANISMS = (
    "public_authority_instrument",
    "code_of_conduct",
    "certification",
    "ad_hoc_clauses",
    "administrative_arrangement",
)
MECHANISMS = ("adequacy", "scc", "bcr", "derogation", *ART46_MECHANISMS)
DEROGATIONS = (
    "explicit_consent",
    "contract_performance",
    "contract_in_interest",
    "public_interest",
    "legal_claims",
    "vital_interests",
    "public_register",
    "compelling_legitimate_interests",
)
STATUSES = ("proposed", "active", "retired")

# Which fields each mechanism takes, and which of them it requires.
MECHANISM_FIELDS = {
    "adequacy": (
        {"adequacy_decision", "certified", "certification_checked_on", "scope_attestations"},
        set(),
    ),
    "scc": (
        {"scc_version", "scc_module", "signed_on", "tia_completed_on", "tia", "exporter"},
        {"scc_version", "signed_on"},
    ),
    "bcr": ({"approved_on", "tia_completed_on", "tia"}, {"approved_on"}),
    "derogation": ({"derogation"}, {"derogation"}),
    # A missing date is no 422 but NO_SAFEGUARD in the verdict, naming the date.
    "code_of_conduct": ({"approved_on", "reference", "binding_commitment_on"}, {"reference"}),
    # The importer's certificate: issued on `certified_on`, for three years at most (Art. 42(7)).
    "certification": (
        {
            "approved_on",
            "reference",
            "binding_commitment_on",
            "certified_on",
            "certificate_expires_on",
        },
        {"reference"},
    ),
    "ad_hoc_clauses": ({"authorised_on", "reference"}, set()),
    # Between public authorities or bodies only: both sides attest it.
    "administrative_arrangement": (
        {"authorised_on", "reference", "exporter_public_body", "importer_public_body"},
        {"exporter_public_body", "importer_public_body"},
    ),
    # Art. 46(2)(a): between public authorities or bodies, no authorisation needed.
    "public_authority_instrument": (
        {"concluded_on", "reference", "exporter_public_body", "importer_public_body"},
        {"exporter_public_body", "importer_public_body"},
    ),
}
# Each Art. 46 tool needs a transfer impact assessment as SCCs do: it takes the SCCs' TIA fields.
for _mechanism in ART46_MECHANISMS:
    MECHANISM_FIELDS[_mechanism][0].update(
        name for name in MECHANISM_FIELDS["scc"][0] if name.startswith("tia")
    )


# The exporter's role for the data (this organisation's, per sub-processor): it decides the
# SCC module (2 for a controller, 3 for a processor).
EXPORTER_ROLES = rules.ROLES
# What a transfer impact assessment concluded (EDPB Recommendations 01/2020, steps 3 and 4).
TIA_OUTCOMES = rules.TIA_OUTCOMES


class TiaSchema(StrictSchema):
    """A transfer impact assessment (Clause 14 of (EU) 2021/914; EDPB Recommendations 01/2020):
    staff-only, never shown to customers."""

    completed_on = IsoDate(required=True)
    outcome = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(TIA_OUTCOMES),
        metadata={
            "description": "no_reason_to_believe: nothing in the destination's law or practice "
            "prevents the importer from honouring the safeguard; supplementary_measures: it "
            "does, unless the measures listed are applied; problematic: it does, and no "
            "measure cures it"
        },
    )
    laws_assessed = ma.fields.List(
        text(200),
        validate=ma.validate.Length(max=20),
        metadata={"description": "The destination's laws and practices looked at"},
    )
    supplementary_measures = ma.fields.List(
        text(200),
        validate=ma.validate.Length(max=20),
        metadata={"description": "The technical, contractual or organisational measures chosen"},
    )
    review_by = IsoDate(
        metadata={"description": "When it is to be re-evaluated; past it is TIA_REVIEW_DUE"}
    )

    @ma.validates_schema
    def review_after_completion(self, data, **kwargs):
        review_by, completed_on = data.get("review_by"), data.get("completed_on")
        if review_by and completed_on and review_by < completed_on:
            raise ma.ValidationError(
                "A review cannot be due before the assessment was completed.", "review_by"
            )


class SafeguardSchema(StrictSchema):
    """The safeguard a transfer to a non-EEA location relies on."""

    mechanism = ma.fields.String(required=True, validate=ma.validate.OneOf(MECHANISMS))
    adequacy_decision = ma.fields.String(
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "Adequacy decision id; default: the one in force for the country"},
    )
    certified = StrictBoolean(
        metadata={"description": "The recipient holds the certification the decision requires"},
    )
    certification_checked_on = IsoDate()
    scc_version = ma.fields.String(
        validate=ma.validate.Length(min=1, max=32), metadata={"example": "2021/914"}
    )
    scc_module = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=4))
    signed_on = IsoDate()
    approved_on = IsoDate(
        metadata={
            "description": "BCRs: approved by the supervisory authority. code_of_conduct: "
            "approved for transfers (Art. 40(5)) with general validity (Art. 40(9)). "
            "certification: the mechanism approved (Art. 42(5))"
        }
    )
    reference = text(
        200,
        description="code_of_conduct, certification: which code or certification (name, "
        "register entry, certificate); ad_hoc_clauses, administrative_arrangement: the "
        "authorisation; public_authority_instrument: the instrument",
    )
    binding_commitment_on = IsoDate(
        metadata={
            "description": "code_of_conduct, certification: when the importer made its binding "
            "and enforceable commitments to apply the safeguards (Art. 46(2)(e), (f))"
        }
    )
    certified_on = IsoDate(
        metadata={
            "description": "certification: the importer's certificate was issued (Art. 42(5)); "
            "it counts for three years at most (Art. 42(7)), to the day before the same "
            "calendar day three years later. Absent: NO_SAFEGUARD"
        }
    )
    certificate_expires_on = IsoDate(
        metadata={
            "description": "certification: the first day the importer's certificate no longer "
            "counts, if earlier than three years after `certified_on`"
        }
    )
    concluded_on = IsoDate(
        metadata={
            "description": "public_authority_instrument: the legally binding and enforceable "
            "instrument was concluded between the public authorities or bodies (Art. 46(2)(a); "
            "no authorisation needed)"
        }
    )
    authorised_on = IsoDate(
        metadata={
            "description": "ad_hoc_clauses, administrative_arrangement: authorised by the "
            "competent supervisory authority (Art. 46(3), consistency mechanism)"
        }
    )
    exporter_public_body = StrictBoolean(
        metadata={
            "description": "administrative_arrangement, public_authority_instrument: the "
            "exporter is a public authority or body"
        }
    )
    importer_public_body = StrictBoolean(
        metadata={
            "description": "administrative_arrangement, public_authority_instrument: the "
            "importer is a public authority or body"
        }
    )
    derogation = ma.fields.String(validate=ma.validate.OneOf(DEROGATIONS))
    tia_completed_on = IsoDate(
        metadata={
            "description": "Shorthand for a TIA known only by its date (`tia.completed_on`); "
            "with `tia`, it must be the same date"
        }
    )
    tia = ma.fields.Nested(TiaSchema)
    exporter = ma.fields.String(
        validate=ma.validate.OneOf(EXPORTER_ROLES),
        metadata={
            "description": "For a pre-2021 SCC set: who signed the clauses as exporter. "
            "`controller` when the customer (the controller) itself did, which lets "
            "2010/87/EU cover a transfer to this organisation's sub-processor"
        },
    )
    scope_attestations = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$")),
        values=StrictBoolean(),
        validate=ma.validate.Length(max=10),
        metadata={
            "description": "For adequacy: whether the recipient meets each scope condition of "
            "the decision (its `scope_conditions` codes), true or false"
        },
    )

    @ma.validates_schema
    def fields_fit_mechanism(self, data, **kwargs):
        mechanism = data.get("mechanism")
        if mechanism not in MECHANISM_FIELDS:
            return
        allowed, required = MECHANISM_FIELDS[mechanism]
        errors = {
            name: [f"Not applicable to the {mechanism!r} mechanism."]
            for name in data
            if name != "mechanism" and name not in allowed
        }
        errors.update(
            {
                name: [f"Required for the {mechanism!r} mechanism."]
                for name in sorted(required)
                if name not in data
            }
        )
        certified, expires = data.get("certified_on"), data.get("certificate_expires_on")
        if certified and expires and expires <= certified:
            errors["certificate_expires_on"] = [
                "Must be after certified_on: a certificate counts from its issue until it expires."
            ]
        tia, shorthand = data.get("tia"), data.get("tia_completed_on")
        if tia and shorthand and tia.get("completed_on") != shorthand:
            errors["tia_completed_on"] = [
                "Differs from tia.completed_on; give the date once, in tia, or the same in both."
            ]
        if errors:
            raise ma.ValidationError(errors)


class LocationSchema(StrictSchema):
    country = CountryCode(
        metadata={"description": "Where the data goes; or `international_organisation`"}
    )
    international_organisation = ma.fields.String(
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "Instead of `country`: an id of GET /v1/international-organisations",
            "example": "epo",
        },
    )
    activity = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTIVITIES))
    safeguard = ma.fields.Nested(SafeguardSchema)
    importer_subject_to_gdpr = StrictBoolean(
        metadata={
            "description": "The importer's processing is itself subject to the GDPR (Art. 3(2))"
        }
    )

    @ma.validates_schema
    def one_destination(self, data, **kwargs):
        """A country or an international organisation: exactly one of the two."""
        if "country" in data and "international_organisation" in data:
            raise ma.ValidationError(
                {
                    "international_organisation": [
                        "Give a country or an international organisation, not both."
                    ]
                }
            )
        if "country" not in data and "international_organisation" not in data:
            raise ma.ValidationError(
                {"country": ["Required, unless an international_organisation is given."]}
            )


class OnwardTransferSchema(LocationSchema):
    """One of the sub-processor's own sub-processors, and the safeguard it relies on."""

    name = text(200, required=True)
    legal_entity = text(200, allow_none=True)


def _onward_transfers():
    return ma.fields.List(
        ma.fields.Nested(OnwardTransferSchema),
        validate=ma.validate.Length(max=50),
        metadata={"description": "The sub-processor's own sub-processors (one level)"},
    )


def _exporter_role():
    return ma.fields.String(
        validate=ma.validate.OneOf(EXPORTER_ROLES),
        allow_none=True,
        metadata={
            "description": "This organisation's role for the data it passes to this "
            "sub-processor (processor for customers' data, controller for its own); it decides "
            "the SCC module. Default, or null: REGISTRY_ORGANISATION_ROLE. Staff-only"
        },
    )


def _locations(required: bool):
    return ma.fields.List(
        ma.fields.Nested(LocationSchema),
        required=required,
        validate=ma.validate.Length(min=1, max=50),
    )


def _categories(required: bool):
    return ma.fields.List(
        DataCategory(),
        required=required,
        validate=ma.validate.Length(min=1, max=100),
    )


class _UniqueCategories:
    @ma.validates("data_categories")
    def unique_categories(self, value, **kwargs):
        if value is not None and len(set(value)) != len(value):
            raise ma.ValidationError("Each data category may be listed once.")


class SubprocessorCreateSchema(_UniqueCategories, StrictSchema):
    name = text(200, required=True, example="Nimbus Hosting")
    legal_entity = text(200, allow_none=True, example="Nimbus Hosting Inc.")
    service = ma.fields.String(required=True, validate=ma.validate.OneOf(SERVICES))
    purpose = text(1000, allow_none=True, multiline=True)
    data_categories = _categories(required=True)
    locations = _locations(required=True)
    onward_transfers = _onward_transfers()
    exporter_role = _exporter_role()
    effective_on = IsoDate(
        metadata={
            "description": "From when it may be used; default today + the notice period, "
            "and no earlier unless `urgent` (or `already_in_use`)"
        }
    )
    already_in_use = StrictBoolean(
        metadata={
            "description": "A vendor recorded after the fact: recorded, not announced (no "
            "objection window); `effective_on` on or before today, default today"
        }
    )
    urgent = StrictBoolean(
        metadata={"description": "Less notice than promised, for a reason: NOTICE_PERIOD_SHORT"}
    )
    urgent_reason = text(1000, metadata={"description": "Required with `urgent`"})


class SubprocessorUpdateSchema(_UniqueCategories, StrictSchema):
    """Fields to change; `locations`, `onward_transfers` and `data_categories` replace the list."""

    name = text(200)
    legal_entity = text(200, allow_none=True)
    service = ma.fields.String(validate=ma.validate.OneOf(SERVICES))
    purpose = text(1000, allow_none=True, multiline=True)
    data_categories = _categories(required=False)
    locations = _locations(required=False)
    onward_transfers = _onward_transfers()
    exporter_role = _exporter_role()
    effective_on = IsoDate(
        metadata={
            "description": "With a material change: when the change takes effect (default "
            "today + the notice period). Otherwise: the sub-processor's own date, never "
            "earlier than its announcement + the notice period"
        }
    )
    urgent = StrictBoolean(
        metadata={"description": "A material change with less notice, for a reason"}
    )
    urgent_reason = text(1000, metadata={"description": "Required with `urgent`"})


class FlagSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"enum": list(flags.TRANSFER_FLAGS)})
    severity = ma.fields.String(
        required=True, validate=ma.validate.OneOf((flags.ERROR, flags.WARNING))
    )
    country = ma.fields.String(allow_none=True)
    international_organisation = ma.fields.String(
        metadata={"description": "For a transfer to an international organisation: its id"}
    )
    onward = ma.fields.String(
        metadata={"description": "For an onward transfer's flag: the onward recipient's name"}
    )
    message = ma.fields.String(required=True)


class WaiverRefSchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "The waiver (GET /v1/waivers)"})
    reason = ma.fields.String(required=True)
    expires_on = ma.fields.String(
        required=True, metadata={"format": "date", "description": "The warning is back then"}
    )


class WaivedFlagSchema(FlagSchema):
    """A warning a waiver in force accepts: the flag as raised, and the waiver."""

    waiver = ma.fields.Nested(WaiverRefSchema, required=True)


class NoteSchema(ma.Schema):
    """A caveat about the registry's own reference law (LAW_UNVERIFIED): for staff to
    read, never a finding about the sub-processor."""

    code = ma.fields.String(required=True, metadata={"enum": list(flags.TRANSFER_NOTES)})
    country = ma.fields.String(allow_none=True)
    international_organisation = ma.fields.String()
    onward = ma.fields.String(
        metadata={"description": "For an onward transfer's note: the onward recipient's name"}
    )
    message = ma.fields.String(required=True)


class LocationVerdictSchema(ma.Schema):
    country = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "null for an organisation"}
    )
    international_organisation = ma.fields.String(
        metadata={"description": "For a transfer to an international organisation: its id"}
    )
    activity = ma.fields.String()
    eea = ma.fields.Boolean(required=True)
    mechanism = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "adequacy, scc, bcr or derogation; transitional_arrangement while an "
            "arrangement means there is no transfer to a third country (the EU-UK bridge)"
        },
    )
    adequacy_decision = ma.fields.String(
        allow_none=True, metadata={"description": "The act relied on, as in force on the date"}
    )
    instrument = ma.fields.String(
        allow_none=True, metadata={"description": "That act's (or the SCC set's) instrument"}
    )
    note = ma.fields.String(metadata={"description": "Why no safeguard is needed, when none is"})
    flags = ma.fields.List(ma.fields.Nested(FlagSchema), required=True)
    notes = ma.fields.List(
        ma.fields.Nested(NoteSchema),
        metadata={"description": "Caveats about the reference law the verdict rests on"},
    )


class OnwardVerdictSchema(LocationVerdictSchema):
    name = ma.fields.String(required=True)


class ComplianceSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(("compliant", "flagged")))
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    assumed_ended = ma.fields.List(ma.fields.String())
    locations = ma.fields.List(ma.fields.Nested(LocationVerdictSchema), required=True)
    onward_transfers = ma.fields.List(ma.fields.Nested(OnwardVerdictSchema), required=True)
    flags = ma.fields.List(ma.fields.Nested(FlagSchema), required=True)
    notes = ma.fields.List(
        ma.fields.Nested(NoteSchema),
        metadata={
            "description": "Caveats about the reference law the verdict rests on "
            "(LAW_UNVERIFIED): never a warning, never a reason to fail a check"
        },
    )
    waived = ma.fields.List(
        ma.fields.Nested(WaivedFlagSchema),
        metadata={
            "description": "The warnings a waiver in force accepts, moved out of `flags`: "
            "they fail no check until the waiver expires or is revoked. Staff only"
        },
    )


class SafeguardOutSchema(ma.Schema):
    mechanism = ma.fields.String(required=True)
    adequacy_decision = ma.fields.String()
    certified = ma.fields.Boolean()
    certification_checked_on = ma.fields.String(metadata={"format": "date"})
    scc_version = ma.fields.String()
    scc_module = ma.fields.Integer()
    signed_on = ma.fields.String(metadata={"format": "date"})
    approved_on = ma.fields.String(metadata={"format": "date"})
    reference = ma.fields.String()
    binding_commitment_on = ma.fields.String(metadata={"format": "date"})
    certified_on = ma.fields.String(metadata={"format": "date"})
    certificate_expires_on = ma.fields.String(metadata={"format": "date"})
    concluded_on = ma.fields.String(metadata={"format": "date"})
    authorised_on = ma.fields.String(metadata={"format": "date"})
    exporter_public_body = ma.fields.Boolean()
    importer_public_body = ma.fields.Boolean()
    derogation = ma.fields.String()
    tia_completed_on = ma.fields.String(metadata={"format": "date"})
    tia = ma.fields.Nested(TiaSchema)
    exporter = ma.fields.String()
    scope_attestations = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean())


class LocationOutSchema(ma.Schema):
    country = ma.fields.String(metadata={"description": "Absent for an organisation"})
    international_organisation = ma.fields.String(
        metadata={
            "description": "Instead of `country`: an id of GET /v1/international-organisations"
        }
    )
    activity = ma.fields.String(required=True)
    safeguard = ma.fields.Nested(SafeguardOutSchema)
    importer_subject_to_gdpr = ma.fields.Boolean()


class OnwardTransferOutSchema(LocationOutSchema):
    name = ma.fields.String(required=True)
    legal_entity = ma.fields.String(allow_none=True)


class UpheldObjectionSchema(ma.Schema):
    id = ma.fields.String(required=True)
    customer_id = ma.fields.String(required=True)
    change_id = ma.fields.String(allow_none=True)
    resolved_at = ma.fields.String(metadata={"format": "date-time"})


class PendingChangeSchema(ma.Schema):
    change_id = ma.fields.String(
        required=True, metadata={"description": "The change event that announced it"}
    )
    changes = ma.fields.Dict(
        required=True, metadata={"description": "The fields it sets, with their new values"}
    )
    announced_on = ma.fields.String(required=True, metadata={"format": "date"})
    effective_on = ma.fields.String(required=True, metadata={"format": "date"})
    objection_deadline = ma.fields.String(required=True, metadata={"format": "date"})
    urgent_reason = ma.fields.String(allow_none=True)
    base_version = ma.fields.Integer(required=True)
    replaces = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "In the answer to the PATCH that made it: the pending change "
            "it replaced, whose notice it restarted"
        },
    )


class SubprocessorSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    legal_entity = ma.fields.String(allow_none=True)
    service = ma.fields.String(required=True)
    purpose = ma.fields.String(allow_none=True)
    data_categories = ma.fields.List(ma.fields.String(), required=True)
    locations = ma.fields.List(ma.fields.Nested(LocationOutSchema), required=True)
    onward_transfers = ma.fields.List(ma.fields.Nested(OnwardTransferOutSchema), required=True)
    exporter_role = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "This organisation's role for this sub-processor's data; null: "
            "REGISTRY_ORGANISATION_ROLE"
        },
    )
    effective_on = ma.fields.String(required=True, metadata={"format": "date"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    retired_on = ma.fields.String(allow_none=True, metadata={"format": "date"})
    retired_reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "Why it was retired, or is to be, as given when retiring"},
    )
    version = ma.fields.Integer(required=True)
    announced_on = ma.fields.String(
        required=True,
        metadata={"format": "date", "description": "When customers were told of it"},
    )
    already_in_use = ma.fields.Boolean(
        required=True,
        metadata={"description": "Recorded after the fact, never announced as new"},
    )
    urgent_reason = ma.fields.String(allow_none=True)
    upheld_objections = ma.fields.List(
        ma.fields.Nested(UpheldObjectionSchema),
        metadata={"description": "Objections staff upheld (a customer sees its own)"},
    )
    pending_change = ma.fields.Nested(
        PendingChangeSchema,
        allow_none=True,
        required=True,
        metadata={"description": "A material change announced and not yet in force"},
    )
    created_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    updated_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    compliance = ma.fields.Nested(ComplianceSchema, required=True)


class SubprocessorPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(SubprocessorSchema), required=True)


class SubprocessorQueryArgsSchema(PageArgsSchema):
    service = ma.fields.String(validate=ma.validate.OneOf(SERVICES))
    country = CountryCode(metadata={"description": "Has a location in this country"})
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    flagged = ma.fields.Boolean(
        metadata={
            "description": "Only sub-processors with (true) or without (false) an error flag "
            "today (on `at`, that day); retired ones are no finding and are left out unless "
            "`status=retired`"
        }
    )
    at = IsoDate(
        metadata={
            "description": "The register as it stood at the end of that day (in the "
            "registry's time zone), each entry with its status and verdict on that day"
        }
    )
    format = ma.fields.String(
        validate=ma.validate.OneOf(("csv", "excel", "xlsx")),
        metadata={
            "description": "A spreadsheet export of the whole current register (admin and "
            "procurement), whatever `Accept` says: `csv` RFC 4180 (comma, UTF-8) for programs, "
            "`excel` the CSV Excel opens by double-click in any locale (tabs, UTF-16LE with a "
            "byte order mark), `xlsx` a workbook; each imports back unchanged"
        },
    )


class ComplianceArgsSchema(StrictSchema):
    as_of = IsoDate(metadata={"description": "Whose law applies; default `at`, else today"})
    assume_ended = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=64)),
        validate=ma.validate.Length(max=20),
        metadata={"description": "What if these adequacy decisions had ended (repeatable)"},
    )


class RegisterComplianceArgsSchema(ComplianceArgsSchema):
    at = IsoDate(
        metadata={
            "description": "Evaluate the register as it stood at the end of that day (in the "
            "registry's time zone)"
        }
    )


class RetireSchema(StrictSchema):
    """An optional body of DELETE: why, and from when; none retires it today."""

    reason = text(
        1000,
        allow_none=True,
        multiline=True,
        description="Why it is retired: shown on the record, in the audit trail and to customers",
    )
    retired_on = IsoDate(
        metadata={
            "description": "Today (the default) or a later day: it stays in force until then; "
            "an earlier day is refused"
        }
    )
