"""What sub-processor names are compared by: one key for names a reader cannot tell apart.

The key of a name (`name_key`):

1. every default-ignorable code point is removed (`fields.visible`: the Unicode property
   Default_Ignorable_Code_Point: soft hyphen, U+034F, U+115F/U+1160, U+17B4/5, Mongolian
   free variation selectors, U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+3164,
   variation selectors, U+FEFF, U+FFA0, tags U+E0000-U+E0FFF, ...), and with them every
   other format character (category Cf), which no reader sees either;
2. NFKC, then case folding (fullwidth, mathematical bold and plain `acme` are one name);
3. the confusable skeleton of UTS #39: each character is replaced by the prototype of its
   class in Unicode's confusables table (Cyrillic a, U+0430, and Greek alpha by Latin `a`, `0` by
   `o`, `1` and `|` by `l`, `m` by `rn`), between canonical decompositions, then case
   folded again; twice, so that a prototype that folds to another class's member ends in
   that class too;
4. whitespace runs collapsed to one space, none at either end.

The table is the one the `confusable-homoglyphs` package ships (generated from Unicode's
`confusables.txt`), read as data: the package's API answers whether a string mixes
confusable scripts, not what its skeleton is. Its file lists each pair both ways; a
character with a single entry whose entry has several is a source, one with several
entries is a prototype, and the two members of an isolated pair share the lower one.

Case is folded first, as names always were compared: so `I` (capital i) is compared as `i`
and does not collide with `l`, which a case-sensitive skeleton would say; `1` and `l` do.
A change of this function changes stored keys: a migration clears them and `registry init`
fills them again (see `fill_name_keys`).
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from importlib import resources

from ..http.fields import visible

# The table wraps right-to-left characters in left-to-right marks, for display.
_MARKS = str.maketrans("", "", "\u200e\u200f")


@cache
def prototypes() -> dict[str, str]:
    """Each confusable character (a single code point) and its prototype (one or more)."""
    raw = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    pairs: dict[str, set[str]] = {}
    for key, entries in raw.items():
        source = key.translate(_MARKS)
        pairs.setdefault(source, set()).update(e["c"].translate(_MARKS) for e in entries)
    mapping = {}
    for char, others in pairs.items():
        if len(char) != 1 or len(others) != 1:
            continue  # a prototype (several sources), or a sequence: never a source itself
        (other,) = others
        if len(other) > 1 or len(pairs.get(other, ())) > 1:
            mapping[char] = other
        elif other != char:
            mapping[char] = min(char, other)  # an isolated pair: either is the other's twin
    return {char: target for char, target in mapping.items() if target != char}


def skeleton(text: str) -> str:
    """UTS #39's skeleton of `text`: its prototypes, between canonical decompositions."""
    table = prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in decomposed))


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", visible(unicodedata.normalize("NFKC", text).casefold()))


def name_key(name: str) -> str:
    """The key of a name: two names a reader cannot tell apart have one key."""
    text = _folded(visible(name))
    for _ in range(2):
        text = _folded(skeleton(text))
    return " ".join(text.split())
