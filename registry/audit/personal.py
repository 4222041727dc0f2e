"""Which values of an audit entry are personal data, held apart as purgeable payloads (pure).

The audit trail is an accountability record (GDPR Art. 5(2)): who did what, to which
object, when. Its hashed entries keep that, and hold digests in place of the values that
identify a person or a customer's contact, so that erasure and retention can remove those
values without breaking the chain. Decided field by field, at every place an entry is made:

- the actor of an entry made with an API key: the key's `name` (keys are often named after
  a person) and, for customer keys, `customer_id` and `key_id`: a customer key's id is the
  same in every entry its customer makes, so left in the hashed entry it would link them all
  again once the customer is erased. A staff key's id and every role stay (who did what);
  an operator command's name (`registry init`) is not personal either. The actor's values
  concern the customer acting, never the customer an entry is about: an admin issuing a
  customer's key keeps its name when that customer is erased.
- `key.create`: `name`, `customer_id`. `key.revoke` holds nothing.
- `webhook.create`, `webhook.delete`: `url` (the customer's receiver, often naming it) and
  `description` (free text a customer wrote); `webhook.update`: the same, from and to.
  `webhook.disable`: `reason`, which quotes the last error (the host and its address).
  `webhook.rotate_secret` holds only times.
- `objection.create`: `customer_id`, `key_id`, `reason` (written by the customer);
  `objection.resolve` and `objection.withdraw`: `response` (staff's answer, addressed to
  that customer).
- `document.disclose`: `customer_id`, and the `key_id` and `request_id` that would link it
  to the customer's other entries; `document.withdraw`: each id of `disclosed_to`.
  `documentation_request.create` holds the transfers asked about, not who asked (the actor).
- `incident.*`: `contact` (a person's name and e-mail) and each id of `customer_ids`.
- sub-processors, documents, the register's changes: facts about vendors and contracts,
  written by staff; not personal data of customers, kept in the hashed entry.

Each payload names the customer it concerns (`customer`), when one does: the value itself
when it is a customer id, else the customer acting, else the entry's `customer_id` (the
actor's own values: only the customer acting). A payload
about a customer's object written by staff (an admin pausing its webhook) is found through
the object instead, when that customer is erased.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .chain import pointer

ANY = "*"
# Pointer patterns into {"actor": ..., "change": ...}; "*" is any key or index. A pattern
# marked True holds a customer id: the payload concerns that customer.
_WEBHOOK = (("change", "url"), ("change", "description"))
_WEBHOOK_DIFF = tuple((*p, side) for p in _WEBHOOK for side in ("from", "to"))
_INCIDENT_CUSTOMERS = (("change", "customer_ids", ANY),)
_INCIDENT_DIFF_CUSTOMERS = tuple(("change", "customer_ids", side, ANY) for side in ("from", "to"))
RULES: dict[str, tuple[tuple[tuple[str, ...], bool], ...]] = {
    "key.create": ((("change", "name"), False), (("change", "customer_id"), True)),
    "webhook.create": tuple((p, False) for p in _WEBHOOK),
    "webhook.delete": tuple((p, False) for p in _WEBHOOK),
    "webhook.update": tuple((p, False) for p in _WEBHOOK_DIFF),
    "webhook.disable": ((("change", "reason"), False),),
    "objection.create": (
        (("change", "customer_id"), True),
        (("change", "key_id"), False),
        (("change", "reason"), False),
    ),
    "objection.resolve": ((("change", "response"), False),),
    "objection.withdraw": ((("change", "response"), False),),
    "document.disclose": (
        (("change", "customer_id"), True),
        (("change", "key_id"), False),
        (("change", "request_id"), False),
    ),
    "document.withdraw": ((("change", "disclosed_to", ANY), True),),
    "incident.create": (
        (("change", "contact"), False),
        *((p, True) for p in _INCIDENT_CUSTOMERS),
    ),
    **{
        action: ((("change", "contact"), False), *((p, True) for p in _INCIDENT_DIFF_CUSTOMERS))
        for action in ("incident.update", "incident.communicate", "incident.close")
    },
}


def item_lists(action: str) -> frozenset[tuple[str, ...]]:
    """The lists of an action's entry whose items are held apart one by one (each customer
    id its own payload, erased with that customer): they stay lists, however long, since
    they are bounded by the customers there are, not by what a caller sends."""
    return frozenset(
        pattern[: pattern.index(ANY)] for pattern, _ in RULES.get(action, ()) if ANY in pattern
    )


@dataclass(frozen=True)
class Personal:
    """One personal value of an entry: where it is, what it is, the customer it concerns."""

    pointer: str
    value: object
    customer: str | None


def _matches(node, pattern: tuple[str, ...], path: tuple):
    if not pattern:
        yield path, node
        return
    head, rest = pattern[0], pattern[1:]
    if isinstance(node, dict):
        keys = list(node) if head == ANY else [head] if head in node else []
        for key in keys:
            yield from _matches(node[key], rest, (*path, key))
    elif isinstance(node, list) and head == ANY:
        for index, item in enumerate(node):
            yield from _matches(item, rest, (*path, index))


def _entry_customer(actor: dict, change) -> str | None:
    if isinstance(actor, dict) and actor.get("role") == "customer" and actor.get("customer_id"):
        return actor["customer_id"]
    if isinstance(change, dict) and isinstance(change.get("customer_id"), str):
        return change["customer_id"]
    return None


def personal_values(action: str, actor: dict, change) -> Iterator[Personal]:
    """The personal values of an entry about to be appended, each with its pointer."""
    customer = _entry_customer(actor, change)
    if isinstance(actor, dict) and actor.get("key_id") is not None:
        # The actor's values concern whoever acted: a customer key's customer, and no
        # customer for a staff key (the admin who issues a customer's key keeps its name
        # when that customer is erased).
        acting = actor.get("customer_id") if isinstance(actor.get("customer_id"), str) else None
        fields = ("name", "customer_id", "key_id") if acting is not None else ("name",)
        for field in fields:
            if actor.get(field) is not None:
                yield Personal(pointer(("actor", field)), actor[field], acting)
    document = {"change": change}
    for pattern, holds_customer in RULES.get(action, ()):
        for path, value in _matches(document, pattern, ()):
            if value is None:
                continue
            concerns = value if holds_customer and isinstance(value, str) else customer
            yield Personal(pointer(path), value, concerns)
