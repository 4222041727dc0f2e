"""The per-revision snapshot, updated with only what changed, equals one built from scratch."""

from __future__ import annotations

import io
import random

from helpers import NL, days_from_today, nimbus, singapore

from registry.verdicts import snapshot as snapshots
from registry.verdicts.service import snapshot


def kept_by(registry) -> snapshots.Builder:
    return registry.cache("compliance.snapshot", snapshots.Builder)


def from_scratch(registry):
    kept_by(registry).snapshot = None
    return snapshot(registry)


def test_incremental_updates_equal_a_full_rebuild(app, registry, client, as_role):
    rng = random.Random(20261124)
    staff = as_role("procurement")
    ids = []

    def current_etag(target):
        # Uploads change a record's ETag too (its SCC_COPY_MISSING verdict), so read it fresh.
        return client.get(f"/v1/subprocessors/{target}", headers=staff).headers["ETag"]

    kept = snapshot(registry)
    for step in range(60):
        action = rng.choice(["create", "create", "patch", "retire", "upload"])
        if action == "create" or not ids:
            body = nimbus(name=f"Vendor {step}")
            if rng.random() < 0.3:
                body["locations"] = [singapore()]
            if rng.random() < 0.3:
                body["effective_on"] = days_from_today(38)  # announced, not yet in use
                del body["already_in_use"]
            response = client.post("/v1/subprocessors", json=body, headers=staff)
            assert response.status_code == 201
            ids.append(response.get_json()["id"])
        elif action == "patch":
            target = rng.choice(ids)
            locations = rng.choice(
                [
                    [NL],
                    [singapore()],
                    nimbus()["locations"],
                ]
            )
            response = client.patch(
                f"/v1/subprocessors/{target}",
                json={"locations": locations},
                headers={**staff, "If-Match": current_etag(target)},
            )
            assert response.status_code in (200, 409)  # 409: retired
        elif action == "retire":
            target = rng.choice(ids)
            response = client.delete(
                f"/v1/subprocessors/{target}", headers={**staff, "If-Match": current_etag(target)}
            )
            assert response.status_code in (200, 409)
        else:
            target = rng.choice(ids)
            response = client.post(
                "/v1/documents",
                data={
                    "file": (io.BytesIO(f"SCC {step}".encode()), "scc.txt"),
                    "kind": "scc",
                    "title": f"SCC {step}",
                    "subprocessor_id": target,
                    "audience": "disclosable",
                },
                headers=staff,
                content_type="multipart/form-data",
            )
            assert response.status_code in (201, 422)
        kept = snapshot(registry)
        body, etag = kept.allowed_answer(None, None, None)
        fresh = from_scratch(registry)
        assert fresh is not kept
        assert fresh.entries == kept.entries, step
        assert fresh.allowed == kept.allowed, step
        assert fresh.allowed_answer(None, None, None) == (body, etag), step
        kept_by(registry).snapshot = kept  # go on from the incremental one


def test_only_changed_records_are_evaluated_again(registry, client, as_role, monkeypatch):
    staff = as_role("procurement")
    for n in range(5):
        client.post("/v1/subprocessors", json=nimbus(name=f"Vendor {n}"), headers=staff)
    snapshot(registry)
    evaluated = []
    original = snapshots.evaluate

    def counting(entries, records, *args):
        records = list(records)
        evaluated.extend(r["id"] for r in records)
        return original(entries, records, *args)

    monkeypatch.setattr(snapshots, "evaluate", counting)
    created = client.post("/v1/subprocessors", json=nimbus(name="Sixth"), headers=staff)
    snapshot(registry)
    assert evaluated == [created.get_json()["id"]]
