"""Data categories of the fideslang default taxonomy, with their ancestry."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class DataCategory:
    """One fideslang data category, e.g. `user.contact.email`."""

    key: str
    parent_key: str | None
    name: str
    description: str


@cache
def _categories() -> dict[str, DataCategory]:
    # fideslang (with pydantic) takes a noticeable time to import: only on first use.
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return {
        item.fides_key: DataCategory(
            key=item.fides_key,
            parent_key=item.parent_key,
            name=item.name or item.fides_key,
            description=item.description or "",
        )
        for item in DEFAULT_TAXONOMY.data_category
    }


@cache
def _ancestry() -> dict[str, tuple[str, ...]]:
    categories = _categories()
    chains: dict[str, tuple[str, ...]] = {}
    for key in categories:
        chain = [key]
        parent = categories[key].parent_key
        while parent is not None:
            if parent in chain or parent not in categories:
                raise RuntimeError(f"fideslang taxonomy: broken parent chain at {key!r}")
            chain.append(parent)
            parent = categories[parent].parent_key
        chains[key] = tuple(chain)
    return chains


def is_data_category(key: object) -> bool:
    """Whether `key` is a data-category key of the fideslang default taxonomy."""
    return isinstance(key, str) and key in _categories()


def covers(declared: str, requested: str) -> bool:
    """Whether approval for `declared` includes `requested` (equal to it or an ancestor of it)."""
    chain = _ancestry().get(requested)
    return chain is not None and declared in chain


def nearest(key: str, count: int = 3) -> list[str]:
    """The category keys nearest to `key` (a misspelling, a last part without its parents)."""
    keys = list(_categories())
    tails = [k for k in keys if k.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1]]
    close = difflib.get_close_matches(key, keys, n=count, cutoff=0.7)
    return list(dict.fromkeys([*close, *tails]))[:count]


def category_name(key: str) -> str:
    """A data category's name for people to read; the key itself when the taxonomy has none."""
    category = _categories().get(key)
    return category.name if category else key


def all_categories() -> list[DataCategory]:
    """Every data category of the taxonomy, sorted by key."""
    return sorted(_categories().values(), key=lambda category: category.key)
