"""Where data goes, as a server-side SVG world map (pygal), each country coloured by mechanism."""

from __future__ import annotations

import re
import sys
from functools import lru_cache

# (key, legend, colour) in legend order: the Okabe-Ito palette, told apart with any colour
# vision; static/public.css gives the page's legend the same colours (.swatch-<key>).
SERIES = (
    ("eea", "Inside the EEA (no transfer)", "#0072B2"),
    ("adequacy", "Adequacy decision", "#009E73"),
    ("scc", "Standard Contractual Clauses", "#E69F00"),
    ("bcr", "Binding corporate rules", "#CC79A7"),
    ("derogation", "Derogation (Art. 49 GDPR)", "#D55E00"),
    ("transitional_arrangement", "Transitional arrangement", "#56B4E9"),
    ("art46", "Other Art. 46 safeguard (code, certification, authorised clauses)", "#999999"),
    ("none", "No safeguard recorded", "#000000"),
    ("several", "Several mechanisms", "#F0E442"),
)
SERIES_KEYS = tuple(key for key, _, _ in SERIES)
# Mechanisms shown as one series: the rest of Art. 46 GDPR.
ART46_KEYS = frozenset(
    {
        "public_authority_instrument",
        "code_of_conduct",
        "certification",
        "ad_hoc_clauses",
        "administrative_arrangement",
    }
)

_SCRIPT = re.compile(rb"<script\b[^>]*?(?:/>|>.*?</script>)", re.DOTALL)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)


def mechanism_key(fact: dict) -> str:
    """The map's series for one transfer of the customer projection."""
    if fact["eea"]:
        return "eea"
    if fact["mechanism"] in ART46_KEYS:
        return "art46"
    return fact["mechanism"] or "none"


def countries_by_series(subprocessors) -> dict[str, str]:
    """Each country data goes to today (locations and onward transfers of the sub-processors
    in use), with its series: its mechanism, or `several` when transfers there differ."""
    found: dict[str, set[str]] = {}
    for subprocessor in subprocessors:
        if subprocessor["status"] not in ("active", "retiring"):
            continue
        for fact in (*subprocessor["locations"], *subprocessor["onward_transfers"]):
            if fact["country"]:  # an international organisation has no place on the map
                found.setdefault(fact["country"], set()).add(mechanism_key(fact))
    return {
        country: keys.pop() if len(keys) == 1 else "several"
        for country, keys in sorted(found.items())
    }


def legend(subprocessors) -> list[dict]:
    """The page's legend: each series data goes under today, in SERIES order, with its
    countries by name. A country with transfers under several mechanisms is listed under each
    of them (a transfer with no safeguard is never hidden behind another mechanism), and once
    more under `several` (its colour on the map) with the mechanisms it has."""
    names: dict[str, str] = {}
    keys: dict[str, set[str]] = {}
    for subprocessor in subprocessors:
        if subprocessor["status"] not in ("active", "retiring"):
            continue
        for fact in (*subprocessor["locations"], *subprocessor["onward_transfers"]):
            where = fact["country"] or fact.get("international_organisation") or ""
            names[where] = fact["country_name"]
            keys.setdefault(where, set()).add(mechanism_key(fact))
    labels = {key: label for key, label, _ in SERIES}
    found = []
    for key, label, _ in SERIES:
        if key == "several":
            countries = [
                f"{names[c]} ({', '.join(labels[k] for k in SERIES_KEYS if k in keys[c])})"
                for c in keys
                if len(keys[c]) > 1
            ]
        else:
            countries = [names[c] for c in keys if key in keys[c]]
        if countries:
            found.append({"key": key, "label": label, "countries": sorted(countries)})
    return found


def render(countries: dict[str, str], title: str) -> bytes:
    """The SVG: no script (the page's policy would refuse it, and an image runs none anyway),
    no comment, and the same bytes for the same countries (a fixed chart id). Drawn once per
    set of countries: most writes leave the map as it was."""
    return _render(tuple(sorted(countries.items())), title)


@lru_cache(maxsize=4)
def _render(coloured: tuple[tuple[str, str], ...], title: str) -> bytes:
    countries = dict(coloured)
    from pygal.style import Style  # imported on first use: the map is built once per revision
    from pygal_maps_world.i18n import COUNTRIES
    from pygal_maps_world.maps import World

    _drop_pygal_import_hook()

    present = [
        (key, legend, colour)
        for key, legend, colour in SERIES
        if any(series == key for series in countries.values())
    ]
    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1a1a1a",
        foreground_strong="#1a1a1a",
        foreground_subtle="#595959",
        colors=tuple(colour for _, _, colour in present) or ("#0072B2",),
        font_family="system-ui, sans-serif",
        opacity="1",
        opacity_hover="1",
    )
    chart = World(
        style=style,
        js=[],
        tooltips=False,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        title=title,
        no_data_text="No transfers",
        disable_xml_declaration=False,
    )
    for key, legend, _ in present:
        codes = {
            country.lower(): 1
            for country, series in countries.items()
            if series == key and country.lower() in COUNTRIES
        }
        chart.add(legend, codes)
    svg = chart.render()
    svg = _SCRIPT.sub(b"", svg)
    svg = _COMMENT.sub(b"", svg)
    svg = svg.replace(chart.uuid.encode(), b"registry-map")
    if b"<script" in svg:  # never serve a map that would run anything
        raise RuntimeError("the world map still holds a script")
    return svg


def _drop_pygal_import_hook() -> None:
    """Importing pygal appends a legacy finder to sys.meta_path (for `import
    pygal.maps.<plugin>`, which nothing here uses); from then on every import that no other
    finder resolves, such as a time zone looked up by name, warns about it (ImportWarning).
    pygal offers no switch for it: its finder is recognised by pygal's own public class
    (pygal.PluginImportFixer) and taken out of the interpreter's documented finder list."""
    from pygal import PluginImportFixer

    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, PluginImportFixer)]
