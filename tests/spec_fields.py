"""Every field a client can send, found by walking the app's own OpenAPI spec: each JSON body
property (nested objects and arrays of objects followed) and each query parameter, with a way
to send one value in its place. A test of a guarantee about a kind of field walks them all,
so a field added tomorrow is tested without anyone listing it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Roles tried in turn until one may call the operation (not 401 or 403).
ROLES = ("admin", "procurement", "customer_a")
_ROLE: dict[tuple[str, str], str] = {}  # the role found for an operation, tried alone since


@dataclass
class Field:
    method: str
    path: str  # with its parameters filled
    where: str  # "body" or "query"
    pointer: str  # as a 422 names it
    schema: dict
    wrap: Callable[[object], object]  # the value in its place: the body, or the query string

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.where} {self.pointer}"

    def send(self, client, headers: dict, value):
        headers = {**headers, "If-Match": '"not-the-etag"'}  # a precondition never comes first
        if self.where == "query":
            return client.open(
                self.path, method=self.method, query_string=self.wrap(value), headers=headers
            )
        return client.open(self.path, method=self.method, json=self.wrap(value), headers=headers)


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for key in ("allOf", "anyOf", "oneOf"):  # a nullable or referenced field: its object form
        for option in schema.get(key, []):
            option = _resolve(spec, option)
            if option.get("type") not in (None, "null") or "properties" in option:
                return {**{k: v for k, v in schema.items() if k != key}, **option}
    return schema


def _types(schema: dict) -> set:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind}


def _properties(spec, schema, pointer, wrap) -> Iterator[tuple[str, dict, Callable]]:
    schema = _resolve(spec, schema)
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        prop = _resolve(spec, prop)
        here = f"{pointer}/{name}"

        def place(value, name=name, wrap=wrap):
            return wrap({name: value})

        if "object" in _types(prop) or "properties" in prop:
            yield from _properties(spec, prop, here, place)
        elif "array" in _types(prop):
            items = _resolve(spec, prop.get("items", {}))

            def listed(value, place=place):
                return place([value])

            if "object" in _types(items) or "properties" in items:
                yield from _properties(spec, items, f"{here}/0", listed)
            else:
                yield f"{here}/0", items, listed
        else:
            yield here, prop, place


def fields(spec: dict, accept: Callable[[dict], bool]) -> Iterator[Field]:
    """Every body property and query parameter whose schema `accept`s."""
    for path, item in spec["paths"].items():
        filled = re.sub(r"\{[^}]+\}", "x-unknown", path)
        for method, operation in item.items():
            if not isinstance(operation, dict) or method not in (
                "get",
                "post",
                "put",
                "patch",
                "delete",
            ):
                continue
            for parameter in operation.get("parameters", []):
                schema = _resolve(spec, parameter.get("schema", {}))
                if parameter.get("in") == "query" and accept(schema):
                    name = parameter["name"]
                    yield Field(
                        method, filled, "query", f"/{name}", schema, lambda v, n=name: {n: v}
                    )
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            for pointer, schema, wrap in _properties(spec, body["schema"], "", lambda v: v):
                if accept(schema):
                    yield Field(method, filled, "body", pointer, schema, wrap)


def refused(client, as_role, field: Field, value) -> dict:
    """The 422 a caller allowed to call the operation gets for `value` in `field`, with the
    error at the field's pointer."""
    known = _ROLE.get((field.method, field.path))
    for role in (known,) if known else ROLES:
        response = field.send(client, as_role(role), value)
        if response.status_code not in (401, 403):
            _ROLE[field.method, field.path] = role
            break
    assert response.status_code == 422, (str(field), value, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    found = [e for e in response.get_json()["errors"] if e["pointer"] == field.pointer]
    assert found, (str(field), value, response.get_json()["errors"])
    return found[0]
