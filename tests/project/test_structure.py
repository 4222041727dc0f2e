"""House rules of the package's structure.

The rules on imports are import-linter's contracts, in pyproject.toml ([tool.importlinter]):
the layers, no two folders importing each other, no feature importing another's store. The
first tests here run them (`lint-imports`), and show that they catch a break of each. The
rules import-linter cannot express are checked on the source with `ast`, never by importing it:

1. SQL only in files named store.py;
2. compliance/engine.py (and its parts) reach neither Flask nor SQLite nor any library, even
   through other modules;
3. README's "## Layout" lists every package and top-level module of registry/, and nothing
   else, and names no file that no longer exists;
4. each checker catches what it is there to catch: the meta-tests at the end run it on a small
   synthetic tree (every checker takes a directory and returns readable problem lines).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "registry"
README = ROOT / "README.md"

# The database layer every store uses: a feature may import db.store, and db/ is no feature.
DATABASE_LAYER = "db"
PURE_ENGINE = "registry.compliance.engine"
# The modules the engine is split into: each pure on its own, whoever imports it.
PURE_ENGINE_PARTS = tuple(
    f"registry.compliance.{part}" for part in ("rules", "adequacy", "safeguards", "register")
)
FRAMEWORK_AND_DATABASE = frozenset(
    {"flask", "werkzeug", "flask_smorest", "sqlite3", "sqlite_utils"}
)
REPOSITORY_FOLDERS = ("data/", "openapi/", "tests/", "bench/")


# --- the package's modules and their imports -------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str  # dotted: registry.compliance.engine; a package is named by its __init__.py
    path: Path
    display: str  # registry/compliance/engine.py
    is_package: bool

    @property
    def base(self) -> str:
        """The package a relative import with one dot starts from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    source: Module
    target: str  # an absolute dotted module name, inside the package or not
    line: int
    where: str  # "at module level", "inside function f", ...

    def __str__(self) -> str:
        return f"{self.source.display}:{self.line} ({self.where}) imports {self.target}"


def scan(package_dir: Path) -> dict[str, Module]:
    """Every module of the package in package_dir, by dotted name."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir.parent)
        if "__pycache__" in relative.parts:
            continue
        parts = relative.with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = Module(name, path, relative.as_posix(), is_package)
    return modules


def parse(module: Module) -> ast.Module:
    return ast.parse(module.path.read_text(encoding="utf-8"), filename=module.display)


def prefixes(name: str) -> list[str]:
    """registry.a.b -> registry, registry.a, registry.a.b"""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportFinder(ast.NodeVisitor):
    """Every import statement wherever it is, with where it is, but under `if TYPE_CHECKING:`
    (which never runs)."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []
        self.scope: list[str] = []

    def _scoped(self, node: ast.AST, what: str) -> None:
        self.scope.append(what)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, f"function {node.name}")

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(node, f"function {node.name}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, f"class {node.name}")

    def visit_If(self, node: ast.If) -> None:
        if not is_type_checking(node.test):
            self.generic_visit(node)
            return
        for statement in node.orelse:
            self.visit(statement)

    def _found(self, node: ast.Import | ast.ImportFrom) -> None:
        where = f"inside {', '.join(self.scope)}" if self.scope else "at module level"
        self.found.append((node, where))

    visit_Import = _found
    visit_ImportFrom = _found


def targets(
    module: Module, node: ast.Import | ast.ImportFrom, modules: dict[str, Module]
) -> list[str]:
    """The modules one import statement makes `module` depend on.

    Importing registry.x.y runs registry/x/__init__.py too: those packages count, except the
    importer's own packages, which are necessarily imported before it. `from registry.x import
    y` depends on registry.x.y when y is a submodule, else on registry.x itself.
    """
    root = module.name.split(".")[0]
    own = set(prefixes(module.name))

    def executed(name: str) -> list[str]:
        return [p for p in prefixes(name)[:-1] if p in modules and p not in own]

    found: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == root:
                found += executed(alias.name)
                if alias.name != module.name:
                    found.append(alias.name)
            else:
                found.append(alias.name)
        return list(dict.fromkeys(found))

    if node.level:
        base = module.base.split(".")
        if node.level > len(base):
            raise ValueError(f"{module.display}:{node.lineno}: relative import beyond the package")
        base = base[: len(base) - node.level + 1]
        origin = ".".join([*base, node.module] if node.module else base)
    else:
        origin = node.module or ""
    if origin.split(".")[0] != root:
        return [origin]
    found += executed(origin)
    if origin not in own and origin in modules:
        found.append(origin)
    for alias in node.names:
        submodule = f"{origin}.{alias.name}"
        if submodule in modules:
            found.append(submodule)
        elif origin != module.name:
            found.append(origin)  # a name defined in origin (its __init__.py for a package)
    return list(dict.fromkeys(found))


def imports(package_dir: Path) -> list[Import]:
    modules = scan(package_dir)
    found = []
    for module in modules.values():
        finder = _ImportFinder()
        finder.visit(parse(module))
        for node, where in finder.found:
            found += [Import(module, t, node.lineno, where) for t in targets(module, node, modules)]
    return found


# --- the import contracts: import-linter -----------------------------------------------------

PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = {
    "layers": "Layers: wiring > features > rules > runtime > law > ground",
    "folders-acyclic": "No two folders of registry/ import each other",
    "foreign-stores": "A feature reaches another feature through its service, never its store",
    "stores-know-no-http": "Stores raise domain errors",
}


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess:
    """pyproject.toml's contracts checked on the package `registry` found in package_parent."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command, "lint-imports is missing: the dev extra installs import-linter"
    return subprocess.run(
        [command, "--config", str(PYPROJECT), "--no-cache"],
        cwd=package_parent,
        env={**os.environ, "PYTHONPATH": str(package_parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- rule 1: SQL only in store.py -------------------------------------------------------------

SQL_SHAPES = re.compile(
    "|".join(
        [
            r"^\s*SELECT\s+\S",
            r"\bSELECT\b[\s\S]*?\bFROM\b",
            r"\b(?:INSERT|REPLACE)\s+(?:OR\s+[A-Z]+\s+)?INTO\b",
            r"\bUPDATE\s+(?:OR\s+[A-Z]+\s+)?[\w\".]+\s+SET\b",
            r"\bDELETE\s+FROM\b",
            r"\bCREATE\s+(?:(?:UNIQUE|TEMP|TEMPORARY|VIRTUAL)\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b",
            r"\b(?:ALTER|DROP)\s+(?:TABLE|INDEX|VIEW|TRIGGER)\b",
            r"\bPRAGMA\s+\w",
            r"^\s*(?:BEGIN|COMMIT|ROLLBACK|SAVEPOINT)\b(?:\s+[A-Z]+)*\s*;?\s*$",
            r"\bBEGIN\s+(?:DEFERRED|IMMEDIATE|EXCLUSIVE)\b",
            r"^\s*WITH\s+(?:RECURSIVE\s+)?\w+(?:\s*\([^)]*\))?\s+AS\s*\(",
            r"\bEXPLAIN\s+QUERY\s+PLAN\b",
            # a clause composed outside a store: "WHERE status = ?", " AND seq > :cursor"
            r"\b(?:WHERE|AND|OR|ON)\s+[\w\".]+\s*(?:[=<>!]=?|<>|IN\b|IS\b|LIKE\b)\s*(?:\?|:\w|\()",
            r"\bORDER\s+BY\s+[\w\"]+",
        ]
    )
)


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _text(node: ast.expr) -> str | None:
    """A string literal's text; an f-string's constant parts with `_` for each {...}; the
    parts of "..." + "..." joined."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) or "_" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None or right is not None:
            return (left or "_") + (right or "_")
    return None


def sql_outside_stores(package_dir: Path, *, include_stores: bool = False) -> list[str]:
    found = []
    for module in scan(package_dir).values():
        if module.path.name == "store.py" and not include_stores:
            continue
        tree = parse(module)
        skip = _docstrings(tree)
        lines = set()
        for node in ast.walk(tree):  # outer nodes first: "a" + "b" before "a" and "b"
            if not isinstance(node, ast.expr) or id(node) in skip or node.lineno in lines:
                continue
            text = _text(node)
            if text is not None and SQL_SHAPES.search(text):
                lines.add(node.lineno)
                shown = " ".join(text.split())
                shown = shown if len(shown) <= 70 else shown[:67] + "..."
                found.append((module.display, node.lineno, f"{shown!r}"))
    return [f"{display}:{line}: {shown}" for display, line, shown in sorted(found)]


# --- the features: folders with a store.py ------------------------------------------------------


def features(package_dir: Path) -> set[str]:
    return {
        d.name
        for d in package_dir.iterdir()
        if (d / "__init__.py").is_file() and (d / "store.py").is_file() and d.name != DATABASE_LAYER
    }


# --- rule 2: the compliance engine stays pure -------------------------------------------------


def impure_imports(
    package_dir: Path, start: str, forbidden: Iterable[str] = FRAMEWORK_AND_DATABASE
) -> list[str]:
    """What `start` reaches, through the package's modules, beyond the standard library, and
    anything in forbidden (standard library or not): each with the chain of imports to it."""
    forbidden = set(forbidden)
    modules = scan(package_dir)
    if start not in modules:
        return [f"{start}: no such module in {package_dir}"]
    by_source: dict[str, list[Import]] = {}
    for imp in imports(package_dir):
        by_source.setdefault(imp.source.name, []).append(imp)
    # Importing start runs its packages' __init__.py first.
    via: dict[str, Import | None] = {p: None for p in prefixes(start) if p in modules}
    queue = deque(via)
    problems = []
    while queue:
        name = queue.popleft()
        for imp in by_source.get(name, []):
            top = imp.target.split(".")[0]
            if top == package_dir.name:
                if imp.target in modules and imp.target not in via:
                    via[imp.target] = imp
                    queue.append(imp.target)
                continue
            if top in forbidden:
                why = "forbidden"
            elif top not in sys.stdlib_module_names:
                why = "not the standard library"
            else:
                continue
            chain = [imp]
            while (step := via[chain[-1].source.name]) is not None:
                chain.append(step)
            how = "; ".join(str(i) for i in reversed(chain))
            if chain[-1].source.name != start:
                how = f"importing {start} runs {chain[-1].source.display}; {how}"
            problems.append(f"{start} reaches {imp.target} ({why}): {how}")
    return problems


# --- rule 3: README's layout -----------------------------------------------------------


def section(text: str, title: str) -> tuple[int, list[str]]:
    """The lines under `## title` up to the next heading, and the line number of the first."""
    lines = text.splitlines()
    if f"## {title}" not in lines:
        return 0, []
    start = lines.index(f"## {title}") + 1
    fenced = False
    for end in range(start, len(lines)):
        fenced ^= lines[end].startswith("```")
        if not fenced and re.match(r"#{1,2} ", lines[end]):
            break
    else:
        end = len(lines)
    return start + 1, lines[start:end]


@dataclass
class Entry:
    name: str  # "registry/", "app.py", "http/"
    line: int
    parent: Entry | None = None
    text: list[tuple[int, str]] = field(default_factory=list)  # (line number, description)

    def path(self, repository: Path) -> Path:
        return repository / (self.parent.name if self.parent else "") / self.name

    def directory(self, repository: Path) -> Path:
        """Where the files its description names are looked for."""
        path = self.path(repository)
        return path if self.name.endswith("/") else path.parent


def layout_entries(text: str) -> tuple[list[Entry], list[str]]:
    """The tree in the Layout section's code block: folders at column 0, registry/'s modules
    and packages at column 2, each followed by its description, continued on lines indented
    by 4 or more."""
    first, lines = section(text, "Layout")
    fences = [i for i, line in enumerate(lines) if line.startswith("```")]
    if len(fences) < 2:
        return [], ["README.md: no '## Layout' section with a code block"]
    entries: list[Entry] = []
    problems = []
    for i in range(fences[0] + 1, fences[1]):
        line, number = lines[i], first + i
        indent = len(line) - len(line.lstrip(" "))
        name, _, description = line.strip().partition(" ")
        if not line.strip():
            continue
        if indent == 0:
            entries.append(Entry(name, number))
        elif indent == 2 and entries:
            entries.append(Entry(name, number, parent=entries[-1].parent or entries[-1]))
        elif indent >= 4 and entries:
            description = line.strip()
        else:
            problems.append(f"README.md:{number}: neither an entry (column 0 or 2) nor its text")
            continue
        entries[-1].text.append((number, description.strip()))
    return entries, problems


def layout_problems(
    text: str, repository: Path, package: str, folders: Iterable[str] = REPOSITORY_FOLDERS
) -> list[str]:
    """The Layout tree against the disk: the package's packages and top-level modules, both
    ways, and the repository's folders."""
    entries, problems = layout_entries(text)
    package_dir = repository / package
    listed = {e.name: e for e in entries if e.parent and e.parent.name == f"{package}/"}
    on_disk = {
        f"{p.name}/" if p.is_dir() else p.name
        for p in package_dir.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file())
        or (p.suffix == ".py" and p.name != "__init__.py")
    }
    top = {e.name: e for e in entries if e.parent is None}
    problems += [
        f"README.md Layout: {package}/{name} is not listed; add a line for it under {package}/"
        for name in sorted(on_disk - listed.keys())
    ]
    problems += [
        f"README.md:{listed[name].line}: Layout lists {package}/{name}, which does not exist"
        for name in sorted(listed.keys() - on_disk)
    ]
    problems += [
        f"README.md Layout: the folder {name} is not listed"
        for name in [f"{package}/", *folders]
        if name not in top
    ]
    problems += [
        f"README.md:{entry.line}: Layout lists {name}, which is no folder of the repository"
        for name, entry in top.items()
        if not (name.endswith("/") and (repository / name).is_dir())
    ]
    problems += [
        f"README.md:{e.line}: {e.name} is listed under {e.parent.name}, not under {package}/"
        for e in entries
        if e.parent and e.parent.name != f"{package}/"
    ]
    return problems


MENTION = re.compile(r"(?<![\w./-])registry(?:/[\w.*/-]*|(?:\.[A-Za-z_]\w*)+)")
FILE_NAME = re.compile(r"(?<![\w./*-])[A-Za-z_][\w-]*(?:\.py|/)(?![\w])")


def _defined(module: Module) -> set[str]:
    names = set()
    body = list(parse(module).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            body += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
    return names


def stale_mentions(lines: Iterable[str], repository: Path, first: int = 1) -> list[str]:
    """registry/... paths and registry.x.y names that do not exist (any more)."""
    modules = scan(repository / "registry")
    problems = []
    for number, line in enumerate(lines, start=first):
        for match in MENTION.finditer(line):
            mention = match.group().rstrip(".")
            if "/" in mention:
                exists = (
                    any(repository.glob(mention))
                    if "*" in mention
                    else (repository / mention).exists()
                )
            else:
                known = max((p for p in prefixes(mention) if p in modules), key=len)
                rest = mention[len(known) + 1 :].split(".")[0]
                exists = not rest or rest in _defined(modules[known])
            if not exists:
                problems.append(f"README.md:{number}: {mention} does not exist")
    return problems


def _line_number(problem: str) -> int:
    return int(problem.split(":")[1])


def stale_layout_mentions(text: str, repository: Path) -> list[str]:
    """What the Layout section names that does not exist: its entries, registry/... paths and
    registry.x.y names anywhere in it, and the files (x.py) and folders (x/) an entry's
    description names, somewhere under that entry (or folders at the repository's top)."""
    first, lines = section(text, "Layout")
    problems = stale_mentions(lines, repository, first)
    entries, _ = layout_entries(text)
    for entry in entries:
        path = entry.path(repository)
        if not path.exists():
            shown = path.relative_to(repository).as_posix() + ("/" if entry.name[-1] == "/" else "")
            problems.append(f"README.md:{entry.line}: {shown} does not exist")
        directory = entry.directory(repository)
        for number, description in entry.text:
            for name in FILE_NAME.findall(MENTION.sub(" ", description)):
                if (repository / name).exists() or any(directory.rglob(name.rstrip("/"))):
                    continue
                where = directory.relative_to(repository).as_posix()
                problems.append(
                    f"README.md:{number}: {name}, named in the text of {entry.name}, "
                    f"is not under {where}/ (nor a folder of the repository)"
                )
    return sorted(dict.fromkeys(problems), key=_line_number)


# --- the rules, on the real package -------------------------------------------------------------


def _report(title: str, problems: list[str], fix: str = "") -> str:
    return "\n".join([f"{title}:", *problems, *([fix] if fix else [])])


def test_the_checkers_see_the_whole_package():
    modules = scan(PACKAGE)
    internal = {(i.source.name, i.target) for i in imports(PACKAGE) if i.target in modules}
    assert len(modules) > 60 and {PURE_ENGINE, *PURE_ENGINE_PARTS} <= set(modules)
    assert len(internal) > 150
    assert features(PACKAGE) >= {"subprocessors", "documents", "audit", "keys", "law", "webhooks"}


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for title in CONTRACTS.values():
        assert title in result.stdout


def test_import_contracts_catch_a_break_of_each(tmp_path):
    """On a copy of the package: http/ importing a feature, a record folder importing the
    doors above it (a loop), a feature importing another's store, a store importing HTTP."""
    copy = tmp_path / "registry"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    breaks = {
        "http/auth.py": "from ..keys import service as keys",
        "subprocessors/store.py": "from ..register import api",
        "incidents/service.py": "def _copies():\n    from ..documents import store",
        "keys/store.py": "from ..http.problems import problem",
    }
    for name, line in breaks.items():
        path = copy / name
        path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    report = " ".join(result.stdout.split())
    assert "0 kept, 4 broken" in report, result.stdout
    assert "registry.http is not allowed to import registry.keys" in report
    assert "registry.subprocessors is not allowed to import registry.register" in report
    assert "- .subprocessors -> .register (1 import)" in report
    assert "registry.incidents is not allowed to import registry.documents.store" in report
    assert "registry.keys.store is not allowed to import registry.http" in report


def test_every_folder_and_module_of_the_package_has_a_layer():
    """A folder missing from the layers contract would be bound by none of its layers."""
    contracts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    [layers] = [c["layers"] for c in contracts["contracts"] if c["id"] == "layers"]
    layered = {name.strip() for layer in layers for name in layer.split("|")}
    parts = {
        f"registry.{path.stem if path.is_file() else path.name}"
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").is_file()
    }
    assert parts == layered


def test_settings_name_the_organisation_roles_the_engine_knows():
    """settings.py (ground) may not import the engine: it names the roles itself."""
    from registry.compliance import engine
    from registry.settings import ORGANISATION_ROLES

    assert set(ORGANISATION_ROLES) == set(engine.ROLES)


def test_sql_only_in_store_modules():
    problems = sql_outside_stores(PACKAGE)
    assert not problems, _report(
        "SQL outside a store.py",
        problems,
        "Move the statement into the feature's store.py and call it from there.",
    )


def test_sql_shapes_recognise_every_store():
    """The patterns of rule 2 find this code base's own SQL, so their silence elsewhere means
    something."""
    found = {p.split(":")[0] for p in sql_outside_stores(PACKAGE, include_stores=True)}
    stores = {
        f"registry/{d.name}/store.py" for d in PACKAGE.iterdir() if (d / "store.py").is_file()
    }
    assert stores <= found, f"no SQL recognised in {sorted(stores - found)}"


@pytest.mark.parametrize("module", [PURE_ENGINE, *PURE_ENGINE_PARTS])
def test_compliance_engine_needs_neither_flask_nor_sqlite(module):
    problems = impure_imports(PACKAGE, module)
    assert not problems, _report(
        "compliance/engine.py must stay pure (standard library and pure registry modules only)",
        problems,
        "Pass the engine plain values computed in verdicts/service.py, or move the code there.",
    )


def test_readme_layout_lists_every_package_and_module():
    problems = layout_problems(README.read_text(encoding="utf-8"), ROOT, "registry")
    assert not problems, _report("README.md's Layout differs from the tree", problems)


def test_readme_layout_mentions_no_missing_file():
    problems = stale_layout_mentions(README.read_text(encoding="utf-8"), ROOT)
    assert not problems, _report("README.md's Layout names what does not exist", problems)


# --- rule 4: each checker catches what it is there to catch -------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Files by path relative to root; every folder on the way gets an __init__.py."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    for path in list(root.rglob("*.py")):
        for folder in path.relative_to(root).parents:
            if folder.parts and not (root / folder / "__init__.py").exists():
                (root / folder / "__init__.py").write_text("", encoding="utf-8")
    return root


def test_sql_outside_a_store_is_caught(tmp_path):
    pkg = (
        write_tree(
            tmp_path,
            {
                "pkg/x/service.py": (
                    '"""Writes run in BEGIN IMMEDIATE; SELECT ... FROM is for the store."""\n'
                    "METHODS = ('DELETE', 'UPDATE', 'SELECT')\n"
                    "def f(db, table):\n"
                    '    """DELETE FROM in a docstring is prose."""\n'
                    '    db.execute("SELECT 1 FROM t")\n'
                    '    db.execute(f"UPDATE {table} SET a = ?")\n'
                    '    db.execute("PRAGMA foreign_keys = ON")\n'
                    '    return "Selected from the list" + " WHERE id = ?"\n'
                ),
                "pkg/x/store.py": 'def g(db):\n    db.execute("DELETE FROM t WHERE id = ?")\n',
            },
        )
        / "pkg"
    )

    assert sql_outside_stores(pkg) == [
        "pkg/x/service.py:5: 'SELECT 1 FROM t'",
        "pkg/x/service.py:6: 'UPDATE _ SET a = ?'",
        "pkg/x/service.py:7: 'PRAGMA foreign_keys = ON'",
        "pkg/x/service.py:8: 'Selected from the list WHERE id = ?'",
    ]
    assert sql_outside_stores(pkg, include_stores=True)[-1].startswith("pkg/x/store.py:2: ")


def test_engine_reaching_sqlite_through_a_helper_is_caught(tmp_path):
    pkg = (
        write_tree(
            tmp_path,
            {
                "pkg/compliance/__init__.py": "import marshmallow\n",
                "pkg/compliance/engine.py": "from datetime import date\nfrom ..law import model\n",
                "pkg/law/model.py": "from . import helper\n",
                "pkg/law/helper.py": "import json\n\ndef rows():\n    import sqlite3.dbapi2\n",
            },
        )
        / "pkg"
    )

    assert impure_imports(pkg, "pkg.compliance.engine") == [
        "pkg.compliance.engine reaches marshmallow (not the standard library): importing "
        "pkg.compliance.engine runs pkg/compliance/__init__.py; "
        "pkg/compliance/__init__.py:1 (at module level) imports marshmallow",
        "pkg.compliance.engine reaches sqlite3.dbapi2 (forbidden): "
        "pkg/compliance/engine.py:2 (at module level) imports pkg.law.model; "
        "pkg/law/model.py:1 (at module level) imports pkg.law.helper; "
        "pkg/law/helper.py:4 (inside function rows) imports sqlite3.dbapi2",
    ]


LAYOUT = """\
# Project

## Layout

```
registry/       the package
  app.py        create_app
  compliance/   engine.py (pure), snapshot.py; see registry/compliance/engine.py
  hotpath.py    the old fast path, registry/hotpath.py
  store/        all SQL
data/           reference law
docs/           gone
```

## Next

registry/state.py is outside the section.
"""


def test_readme_layout_missing_and_stale_entries_are_caught(tmp_path):
    write_tree(
        tmp_path,
        {
            "registry/app.py": "",
            "registry/clock.py": "",
            "registry/compliance/engine.py": "",
            "registry/law/model.py": "",
            "data/x.json": "",
        },
    )

    assert layout_problems(LAYOUT, tmp_path, "registry", folders=["data/"]) == [
        "README.md Layout: registry/clock.py is not listed; add a line for it under registry/",
        "README.md Layout: registry/law/ is not listed; add a line for it under registry/",
        "README.md:9: Layout lists registry/hotpath.py, which does not exist",
        "README.md:10: Layout lists registry/store/, which does not exist",
        "README.md:12: Layout lists docs/, which is no folder of the repository",
    ]


def test_readme_layout_naming_missing_files_is_caught(tmp_path):
    write_tree(tmp_path, {"registry/app.py": "", "registry/compliance/engine.py": ""})

    assert stale_layout_mentions(LAYOUT, tmp_path) == [
        "README.md:8: snapshot.py, named in the text of compliance/, is not under "
        "registry/compliance/ (nor a folder of the repository)",
        "README.md:9: registry/hotpath.py does not exist",
        "README.md:10: registry/store/ does not exist",
        "README.md:11: data/ does not exist",
        "README.md:12: docs/ does not exist",
    ]
    assert stale_mentions(["see registry.webhooks.verify and registry.app"], tmp_path) == [
        "README.md:1: registry.webhooks.verify does not exist"
    ]


def test_every_test_folder_is_on_the_pytest_path():
    """Tests are filed by feature; a folder pytest cannot import from is a folder forgotten."""
    configured = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"][
            "pythonpath"
        ]
    )
    folders = {str(path.parent.relative_to(ROOT)) for path in (ROOT / "tests").rglob("test_*.py")}
    assert folders <= configured, f"add to pythonpath in pyproject.toml: {folders - configured}"
