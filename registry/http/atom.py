"""Atom documents (RFC 4287): the one writer of the public feed and of /v1/changes.atom."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
XML = "http://www.w3.org/XML/1998/namespace"
# A change has the same entry id in every feed: a reader following both shows it once.
ENTRY_ID = "tag:transfer-registry,2026:change:{id}"
EMPTY_UPDATED = "1970-01-01T00:00:00Z"
AUTHOR = "Transfer registry"

# What XML 1.0 does not allow (controls, surrogates, U+FFFE and U+FFFF), and noncharacters.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """`value` with each character XML 1.0 refuses replaced by U+FFFD: input is checked
    (registry/http/fields.py), but rows stored before that must not break a feed."""
    return _NOT_XML.sub("\ufffd", value)


@dataclass(frozen=True)
class Link:
    href: str
    rel: str = "alternate"
    type: str | None = None


@dataclass(frozen=True)
class Entry:
    """One change: its id, words, time, kind and where to read more."""

    change_id: str
    title: str
    updated: str
    category: str
    link: Link
    summary: str
    category_label: str | None = None
    content: str | None = None  # as text, e.g. the change as JSON


def document(
    entries: Sequence[Entry],
    *,
    feed_id: str,
    title: str,
    self_link: str,
    subtitle: str | None = None,
    page_link: str | None = None,
) -> bytes:
    """The feed, its entries in the order given (newest first); `updated` is the first's."""
    ET.register_namespace("", ATOM)

    def el(parent, tag, text=None, **attrs):
        attrs = {name: xml_text(value) for name, value in attrs.items() if value is not None}
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = xml_text(text)
        return node

    feed = ET.Element(f"{{{ATOM}}}feed", {f"{{{XML}}}lang": "en"})
    el(feed, "id", feed_id)
    el(feed, "title", title)
    if subtitle is not None:
        el(feed, "subtitle", subtitle)
    el(feed, "updated", entries[0].updated if entries else EMPTY_UPDATED)
    el(feed, "link", rel="self", type="application/atom+xml", href=self_link)
    if page_link is not None:
        el(feed, "link", rel="alternate", type="text/html", href=page_link)
    author = el(feed, "author")
    el(author, "name", AUTHOR)
    for entry in entries:
        node = el(feed, "entry")
        el(node, "id", ENTRY_ID.format(id=entry.change_id))
        el(node, "title", entry.title)
        el(node, "updated", entry.updated)
        el(node, "published", entry.updated)
        el(node, "category", term=entry.category, label=entry.category_label)
        el(node, "link", rel=entry.link.rel, type=entry.link.type, href=entry.link.href)
        el(node, "summary", entry.summary, type="text")
        if entry.content is not None:
            el(node, "content", entry.content, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
