"""The loops among registry/'s folders: strongly connected components of the folder import
graph (function-level imports included, `if TYPE_CHECKING:` excluded). `-v` prints one import
for each edge inside a loop. Run: .venv/bin/python tests/project/folder_loops.py [-v]

import-linter's `folders-acyclic` contract (pyproject.toml) fails on any loop; this script
shows the whole knot at once, the measure of how far the folders are from layers.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from test_structure import PACKAGE, imports


def folder(module: str) -> str:
    """registry.x.y -> x; registry.app -> app."""
    return module.split(".")[1]


def folder_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    graph: dict[str, set[str]] = defaultdict(set)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for imp in imports(PACKAGE):
        if not imp.target.startswith("registry.") or "." not in imp.source.name:
            continue
        a, b = folder(imp.source.name), folder(imp.target)
        if a != b:
            graph[a].add(b)
            edges[(a, b)].append(str(imp))
    return graph, edges


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one folder."""
    nodes = sorted(set(graph) | {b for targets in graph.values() for b in targets})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in nodes:
        if v not in index:
            strong(v)
    return sorted(found, key=len, reverse=True)


def main() -> int:
    graph, edges = folder_graph()
    nodes = set(graph) | {b for targets in graph.values() for b in targets}
    found = loops(graph)
    count = sum(map(len, graph.values()))
    print(f"{len(nodes)} folders, {count} folder edges, {len(found)} loop(s)")
    for component in found:
        print(f"loop of {len(component)}: {' '.join(component)}")
        if "-v" in sys.argv:
            for a in component:
                for b in sorted(graph[a] & set(component)):
                    more = len(edges[(a, b)]) - 1
                    print(f"   {a} -> {b}: {edges[(a, b)][0]}" + (f" (+{more})" if more else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
