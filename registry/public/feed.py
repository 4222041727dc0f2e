"""The public Atom feed (RFC 4287): material changes customers are told of, in plain words."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
XML = "http://www.w3.org/XML/1998/namespace"
FEED_ID = "tag:transfer-registry,2026:public-subprocessors"
# The same change has the same entry id here and in /v1/changes.atom.
ENTRY_ID = "tag:transfer-registry,2026:change:{id}"
EMPTY_UPDATED = "1970-01-01T00:00:00Z"

# What XML 1.0 does not allow (controls, surrogates, U+FFFE and U+FFFF), and noncharacters.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """`value` with each character XML 1.0 refuses replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", value)


def atom(entries: list[dict], *, self_link: str, page_link: str) -> bytes:
    """The feed document. Each entry: id (the change's), title, updated, category, link (to
    the public page), summary; newest first."""
    ET.register_namespace("", ATOM)

    def el(parent, tag, text=None, **attrs):
        node = ET.SubElement(
            parent, f"{{{ATOM}}}{tag}", {name: xml_text(value) for name, value in attrs.items()}
        )
        if text is not None:
            node.text = xml_text(text)
        return node

    feed = ET.Element(f"{{{ATOM}}}feed", {f"{{{XML}}}lang": "en"})
    el(feed, "id", FEED_ID)
    el(feed, "title", "Sub-processors: changes")
    el(feed, "subtitle", "New sub-processors, material changes and retirements, with their dates")
    el(feed, "updated", entries[0]["updated"] if entries else EMPTY_UPDATED)
    el(feed, "link", rel="self", type="application/atom+xml", href=self_link)
    el(feed, "link", rel="alternate", type="text/html", href=page_link)
    author = el(feed, "author")
    el(author, "name", "Transfer registry")
    for entry in entries:
        node = el(feed, "entry")
        el(node, "id", ENTRY_ID.format(id=entry["id"]))
        el(node, "title", entry["title"])
        el(node, "updated", entry["updated"])
        el(node, "published", entry["updated"])
        el(node, "category", term=entry["category"], label=entry["category_label"])
        el(node, "link", rel="alternate", type="text/html", href=entry["link"])
        el(node, "summary", entry["summary"], type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
