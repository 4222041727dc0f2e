"""`registry docs write`: the configuration and command references, generated from the code.

docs/configuration.md comes from the Settings fields (name, default) and settings.MEANINGS;
docs/cli.md from the `registry` command tree (help texts, arguments, options). A test fails
while either committed page differs from what this module generates.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from pathlib import Path

import click

from .. import settings as settings_module
from ..settings import MEANINGS, SHOWN_DEFAULTS, Settings

REGENERATE = "registry docs write docs"
MIB = 1024 * 1024

CONFIGURATION_INTRO = """\
Every variable is read once, in `registry/settings.py`, which holds the defaults; unset or
empty keeps the default, and a value that is not a number where one is expected, or is
negative (or zero, for `_BACKOFF` and `_LEASE`), stops the command with a message. A yes/no
variable takes `1`, `true`, `yes` or `on` and `0`, `false`, `no` or `off`, in any case;
anything else stops the command (exit 2) naming the variable, so `REGISTRY_READ_ONLY=ture`
never starts a writable primary."""


def _header(title: str) -> list[str]:
    return [
        f"# {title}",
        "",
        f"<!-- Generated from the code by `{REGENERATE}`; edit the code, not this page. -->",
        "",
    ]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _shown_default(name: str, value: object) -> str:
    if name in SHOWN_DEFAULTS:
        return SHOWN_DEFAULTS[name]
    if value is None or value is False:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value >= MIB and value % MIB == 0:
        return f"`{value}` ({value // MIB} MiB)"
    return f"`{value}`"


def configuration_page() -> str:
    """docs/configuration.md: every REGISTRY_* variable, its default and its meaning."""
    lines = [*_header("Configuration reference"), CONFIGURATION_INTRO, ""]
    lines += ["| variable | default | meaning |", "|---|---|---|"]
    for spec in dataclasses.fields(Settings):
        name = spec.metadata["env"]
        if name not in MEANINGS:
            raise click.ClickException(
                f"REGISTRY_{name} has no meaning in MEANINGS ({settings_module.__file__})"
            )
        default = spec.default
        lines.append(
            f"| `REGISTRY_{name}` | {_shown_default(name, default)} | {_cell(MEANINGS[name])} |"
        )
    unknown = set(MEANINGS) - {spec.metadata["env"] for spec in dataclasses.fields(Settings)}
    if unknown:
        raise click.ClickException(
            f"MEANINGS names no Settings field: {', '.join(sorted(unknown))}"
        )
    return "\n".join(lines) + "\n"


def _help(command: click.Command) -> str:
    text = inspect.cleandoc(command.help or command.short_help or "")
    return "\n".join(line for line in text.splitlines() if line.strip() != "\b")


def _param_row(param: click.Parameter, ctx: click.Context) -> str:
    names = " / ".join(f"`{name}`" for name in (*param.opts, *param.secondary_opts))
    if isinstance(param, click.Option) and param.is_flag:
        kind = "flag"
    else:
        kind = _cell(param.make_metavar(ctx))
        if getattr(param, "multiple", False) or param.nargs == -1:
            kind += ", repeatable"
    default = param.get_default(ctx, call=False)
    unset = isinstance(default, enum.Enum) and default.name == "UNSET"  # click 8.3's sentinel
    if unset or callable(default) or default is None or default is False or default in ((), []):
        shown = ""
    else:
        shown = f"`{default}`"
    meaning = _cell(getattr(param, "help", None) or "")
    if param.required:
        meaning = f"required; {meaning}" if meaning else "required"
    return f"| {names} | {kind} | {shown} | {meaning} |"


def _document(command: click.Command, ctx: click.Context, depth: int, lines: list[str]) -> None:
    path = ctx.command_path
    lines += [f"{'#' * depth} `{path}`", ""]
    text = _help(command)
    if text:
        lines += [text, ""]
    pieces = " ".join(command.collect_usage_pieces(ctx))
    lines += [f"Usage: `{path} {pieces}`".rstrip() + "", ""]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    params = [p for p in params if "--help" not in p.opts]
    if params:
        lines += ["| option | takes | default | meaning |", "|---|---|---|---|"]
        lines += [_param_row(param, ctx) for param in params]
        lines.append("")
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(sub, info_name=name, parent=ctx)
            _document(sub, sub_ctx, min(depth + 1, 4), lines)


def cli_page(root: click.Context) -> str:
    """docs/cli.md: every `registry` command, its arguments and options, read from the root
    context of the `registry` command as it runs (its commands include the app's)."""
    ctx = click.Context(root.command, info_name="registry", obj=root.obj)
    lines = [*_header("Command reference")]
    _document(root.command, ctx, 2, lines)
    return "\n".join(lines).rstrip("\n") + "\n"


@click.group("docs")
def docs_group():
    """The configuration and command references in docs/, generated from the code."""


@docs_group.command("write")
@click.argument("directory", default="docs", type=click.Path(file_okay=False, path_type=Path))
def write_command(directory: Path):
    """Write configuration.md and cli.md into DIRECTORY (default docs)."""
    directory.mkdir(parents=True, exist_ok=True)
    root = click.get_current_context().find_root()
    pages = {"configuration.md": configuration_page(), "cli.md": cli_page(root)}
    for name, text in pages.items():
        (directory / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {directory / name}")
