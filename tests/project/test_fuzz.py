"""Property-based API tests: schemathesis drives every operation of the committed spec."""

from __future__ import annotations

import copy
import itertools
import os
import zlib
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from helpers import DE, IN_WITHOUT_TIA, NL, ROOT, TODAY, US, category_keys, make_token, nimbus
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry import clock as registry_clock
from registry.subprocessors.schemas import SERVICES

pytestmark = pytest.mark.fuzz

SPEC = ROOT / "openapi" / "openapi.json"
# Generated cases per operation and role (both modes together); `make fuzz` raises them.
EXAMPLES = int(os.environ.get("REGISTRY_FUZZ_EXAMPLES", "10"))
# Stateful scenarios, and the most calls in each.
SCENARIOS = int(os.environ.get("REGISTRY_FUZZ_SCENARIOS", "15"))
STEPS = int(os.environ.get("REGISTRY_FUZZ_STEPS", "8"))
SEED = 20261124
# An import's XLSX body is bytes, sent as generated (random bytes are a 400).
schemathesis.serializer.alias(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream"
)
ROLES = ("admin", "procurement", "service", "customer")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# `use_after_free` is left out on purpose: DELETE retires and the contract keeps the record
# readable (status `retired`), so a 200 after it is the documented behaviour.
STATEFUL_CHECKS = [*CHECKS, ensure_resource_availability]
# Real codes for /v1/countries/{code}: random two-letter strings are nearly all 404s.
COUNTRY_CODES = ("NL", "US", "GB", "IN", "CH", "AX")


# What rejects a request, the HTTP server's own limits (414, 431) included.
REJECTED = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "414",
    "415",
    "422",
    "428",
    "429",
    "431",
]


def _load(*, with_security_parameters: bool) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # A request the HTTP server refuses before the app (a request line or headers
            # over its limits: 414, 431) is rejected too, as the spec documents.
            "checks": {"negative_data_rejection": {"expected-statuses": [*REJECTED, "5XX"]}},
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                # No example database: a run must not depend on what an earlier run found.
                "database": "none",
                "with-security-parameters": with_security_parameters,
            },
        }
    )
    # The committed file, not the live spec: what clients read is what is tested.
    return schemathesis.openapi.from_path(SPEC, config=config)


# With a role's token the generated Authorization header would only be overwritten.
schema = _load(with_security_parameters=False)
# Without one, the generated (mostly bogus) Authorization headers are what is tested.
anonymous_schema = _load(with_security_parameters=True)

# Cases run, by (generation mode, phase); test_both_modes_ran reports them.
TALLY: Counter = Counter()

# Locations the law accepts (flagged or not): random ones are nearly always rejected.
LOCATIONS = (
    NL,
    DE,
    {"country": "BR", "activity": "storage"},
    US,
    IN_WITHOUT_TIA,
    {
        "country": "CH",
        "activity": "processing",
        "safeguard": {"mechanism": "adequacy", "adequacy_decision": "ch-2000"},
    },
    {
        "country": "CN",
        "activity": "backup",
        "safeguard": {"mechanism": "bcr", "approved_on": "2023-05-01"},
    },
    {
        "country": "SG",
        "activity": "processing",
        "safeguard": {"mechanism": "derogation", "derogation": "explicit_consent"},
    },
)


def _valid_subprocessor(*, partial: bool) -> st.SearchStrategy[dict]:
    """Bodies the catalogue accepts: a create body, or (partial) a change."""
    words = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=30)
    fields = {
        "name": words,
        "service": st.sampled_from(SERVICES),
        "data_categories": st.lists(
            st.sampled_from(category_keys()), min_size=1, max_size=4, unique=True
        ),
        "locations": st.lists(
            st.sampled_from(LOCATIONS).map(copy.deepcopy),
            min_size=1,
            max_size=4,
            unique_by=lambda location: location["country"],
        ),
        "legal_entity": st.none() | words,
        "purpose": st.none() | words,
        # With the notice customers are promised (30 days from the test's today).
        "effective_on": st.dates(TODAY + timedelta(days=40), TODAY + timedelta(days=760)).map(
            date.isoformat
        ),
    }
    required = () if partial else ("name", "service", "data_categories", "locations")
    announced = st.fixed_dictionaries(
        {name: fields[name] for name in required},
        optional={name: value for name, value in fields.items() if name not in required},
    )
    if partial:
        return announced
    # Or a vendor already in use, recorded after the fact on or before today.
    in_use = st.fixed_dictionaries(
        {
            **{name: fields[name] for name in required},
            "already_in_use": st.just(True),
            "effective_on": st.dates(date(2020, 1, 1), TODAY).map(date.isoformat),
        }
    )
    return announced | in_use


@schema.hook("flatmap_case")
def _valid_bodies_too(context, case):
    # Schema-valid sub-processor bodies are almost never valid catalogue entries (unknown data
    # categories, countries, SCC versions), so without these no create or change succeeds.
    operation = context.operation
    component = case.meta.components.get(ParameterLocation.BODY) if case.meta else None
    if (
        operation.path not in ("/v1/subprocessors", "/v1/subprocessors/{subprocessor_id}")
        or operation.method not in ("post", "patch")
        or component is None
        or component.mode is not GenerationMode.POSITIVE
    ):
        return st.just(case)

    def with_body(body):
        if body is not None:
            case.body = body
        return case

    valid = _valid_subprocessor(partial=operation.method == "patch")
    return st.one_of(st.none(), valid).map(with_body)


class Target:
    """The module's app and what the cases may aim at: tokens and seeded sub-processors."""

    def __init__(self, app, tokens: dict[str, str]):
        self.app = app
        self.client = app.test_client() if app is not None else None
        self.tokens = {
            "admin": tokens["admin"],
            "procurement": tokens["procurement"],
            "service": tokens["service"],
            "customer": tokens["customer_a"],
        }
        # The first is only ever changed, the others may be retired: PATCH keeps a live record.
        self.subprocessor_ids = [
            self._create(nimbus()),
            self._create(
                nimbus(
                    name="Mailer",
                    service="email_delivery",
                    effective_on=(TODAY + timedelta(days=38)).isoformat(),
                )
            ),
            self._create(nimbus(name="Lone", locations=[{"country": "BR", "activity": "storage"}])),
            self._create(nimbus(name="Spare")),
        ]

    def headers(self, role: str | None) -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def _create(self, body: dict) -> str:
        response = self.client.post("/v1/subprocessors", json=body, headers=self.headers("admin"))
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def etag(self, subprocessor_id: str) -> str:
        response = self.client.get(
            f"/v1/subprocessors/{subprocessor_id}", headers=self.headers("admin")
        )
        return response.headers["ETag"]

    def aim(self, case) -> None:
        """Point some positive cases at existing records, with their current ETag.

        Generated ids are all 404s and generated ETags all 412s, so without this the
        checks would never see a successful read, update or retirement. The choice is a
        function of the case, so a run stays deterministic and failures shrink.
        """
        modes = {location: info.mode for location, info in case.meta.components.items()}
        positive = GenerationMode.POSITIVE
        path = case.path_parameters or {}
        if modes.get(ParameterLocation.PATH) is not positive:
            return
        scenario = getattr(case.meta.phase.data, "description", "")
        choice = zlib.crc32(
            repr((case.method, path, case.body, case.query, case.headers, scenario)).encode()
        )
        if "code" in path and choice % 2:
            path["code"] = COUNTRY_CODES[choice % len(COUNTRY_CODES)]
        if "subprocessor_id" not in path:
            return
        candidates = self.subprocessor_ids[1:] if case.method == "DELETE" else self.subprocessor_ids
        pick = choice % (len(candidates) + 1)
        if pick == len(candidates):
            return  # keep the generated id: a 404
        path["subprocessor_id"] = candidates[pick]
        headers = case.headers or {}
        if "If-Match" in headers and modes.get(ParameterLocation.HEADER) is positive and choice % 3:
            headers["If-Match"] = self.etag(candidates[pick])


@pytest.fixture(scope="module")
def target(apps, tmp_path_factory):
    """A fresh app and database for the module, with a few sub-processors to read and change."""
    # Module fixtures are made before the per-test clock: the seeded records are dated on
    # the tests' TODAY, as every case will be, never on the calendar's.
    registry_clock.set(TODAY)
    try:
        app = apps.attach(apps.copy_template(tmp_path_factory.mktemp("fuzz") / "registry.db"))
        target = Target(app, apps.tokens)
    finally:
        registry_clock.set(None)
    yield target
    apps.detach(app)


def _run(case, target: Target, role: str | None):
    target.aim(case)
    TALLY[case.meta.generation.mode.value, case.meta.phase.name.value] += 1
    case.call_and_validate(app=target.app, headers=target.headers(role), checks=CHECKS)


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
def test_every_operation_conforms_for_every_role(case, role, target):
    _run(case, target, role)


@anonymous_schema.parametrize()
def test_every_operation_conforms_without_a_valid_token(case, target):
    _run(case, target, None)


def test_create_read_update_retire_sequences(apps, tmp_path):
    """Follow the spec's links: POST's id and ETag feed GET, PATCH and DELETE."""
    calls: Counter = Counter()
    scenarios = itertools.count()
    attached = []

    def _fresh_app(database: Path):
        """A pooled app on a copy of the template at `database`, once the last is given back.

        Hypothesis seeds a derandomized run with the source of the state machine, so the
        class below keeps the text it had when this seed was found to follow the links.
        """
        while attached:
            apps.detach(attached.pop())
        attached.append(apps.attach(apps.copy_template(database)))
        return attached[-1]

    # The linked operations only: the scenarios are spent on the create-to-retire story.
    catalogue = schema.include(
        path_regex=r"^/v1/subprocessors(/\{subprocessor_id\}(/compliance)?)?$"
    )

    class Workflow(catalogue.as_state_machine()):
        def setup(self):
            # Every scenario starts from the same empty register, or Hypothesis could not
            # replay one (a name taken by an earlier scenario makes its POST a 409).
            self.database = tmp_path / f"scenario-{next(scenarios)}.db"
            self.app = _fresh_app(self.database)
            token = make_token(self.app.extensions["registry"], "procurement")
            self.headers = {"Authorization": f"Bearer {token}"}

        def teardown(self):
            self.app.extensions["registry"].db.close()
            for path in tmp_path.glob(f"{self.database.name}*"):
                path.unlink()
            super().teardown()

        def get_call_kwargs(self, case):
            return {"app": self.app, "headers": self.headers}

        def after_call(self, response, case):
            super().after_call(response, case)
            calls[case.method, case.path, response.status_code] += 1
            TALLY[case.meta.generation.mode.value, case.meta.phase.name.value] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs, recorder=self.recorder
            )

    try:
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=SCENARIOS,
                stateful_step_count=STEPS,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    finally:
        while attached:
            apps.detach(attached.pop())
    item = "/v1/subprocessors/{subprocessor_id}"
    # The links were followed: records were created, then changed and retired through them.
    assert calls["POST", "/v1/subprocessors", 201], calls
    assert calls["PATCH", item, 200], calls
    assert calls["DELETE", item, 200], calls


def test_both_modes_ran(request):
    """Each generating phase that ran sent both valid and invalid data; the generating tests of
    this session did run cases (selected alone, this test has nothing to count)."""
    if hasattr(request.config, "workerinput"):
        pytest.skip("under pytest-xdist the generating tests may run in another worker")
    generating = [
        item
        for item in request.session.items
        if item.module is request.module and item is not request.node
    ]
    if not generating:
        pytest.skip("no generating test was selected in this session")
    phases = {phase for _, phase in TALLY} & {"coverage", "fuzzing", "stateful"}
    assert phases, f"{len(generating)} generating tests ran no case"
    print("\nschemathesis cases by (mode, phase):", dict(sorted(TALLY.items())))
    for phase in phases:
        assert TALLY["positive", phase] and TALLY["negative", phase], phase
