"""The command group behind `mfawatch`: lazy subcommands, light option parsing, one-line errors.

A query command's budget is 0.4 s wall, most of it spent importing SQLAlchemy's ORM; so a
command imports only its own module, and its options are parsed without pydantic.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
import sys
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer's vendored click
from typer._coercion import RuntimeParam, build_runtime_param
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from kernel.errors import MfawatchError
from kernel.text import printable

log = logging.getLogger(__name__)

# typer's vendored click.Command (typer._click is private).
Command = Any


class LazyGroup(TyperGroup):
    """Subcommands named in ``modules`` load from their module on first use; every command's
    MfawatchError becomes one line on stderr and its exit code (2, or 3 for a site that
    another process is crawling)."""

    modules: ClassVar[dict[str, str]] = {}  # command name → module with register(app)

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.modules, dict(self.commands))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: listing must not import every module

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as exc:  # the group's own options: `mfawatch --db`
            usage_error(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            check_utf8(ctx)
            return super().invoke(ctx)
        except UsageError as exc:  # a command, an option or a value not understood
            usage_error(exc)
        except MfawatchError as exc:
            print(f"mfawatch: error: {exc}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            refused = database_refusal(exc)
            if refused is None:
                raise
            log.debug("the database refused", exc_info=True)
            print(f"mfawatch: error: {refused}", file=sys.stderr)
            raise typer.Exit(2) from None


def usage_error(exc: UsageError) -> NoReturn:
    """click's usage error as every other error is told: one line, exit 2 (not click's usage
    block); `mfawatch CMD` with nothing after it still prints its help."""
    if isinstance(exc, NoArgsIsHelpError):
        raise exc
    message = " ".join(exc.format_message().split())
    if re.match(r"No such option: -\d", message):
        message += " (a negative number reads as an option; ids and counts are positive)"
    where = exc.ctx.command_path if exc.ctx is not None else "mfawatch"
    print(f"mfawatch: error: {printable(message)} (see {where} --help)", file=sys.stderr)
    raise typer.Exit(2)


def database_refusal(exc: BaseException) -> str | None:
    """What the database said, when ``exc`` is its refusal (a read-only file or transaction,
    a full disk, a lost connection); None for anything else."""
    errors = sys.modules.get("sqlalchemy.exc")  # loaded if a database was used at all
    if errors is None or not isinstance(exc, errors.DBAPIError):
        return None
    reason = (str(exc.orig) or type(exc.orig).__name__).strip().splitlines()[0]
    return f"the database refused: {printable(reason)}"


# Parameters that name files: a file name may be any bytes, so these alone may be non-UTF-8.
PATHS = {"config", "config_path", "output", "folder"}


def check_utf8(ctx: Any) -> None:
    """Arguments are text (URLs, notes, names) bound for the database and the terminal:
    bytes that are not UTF-8 (the surrogates of os.fsdecode) are refused here, once."""
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        values = value if isinstance(value, list | tuple) else [value]
        for one in values:
            if param.name in PATHS or not isinstance(one, str):
                continue
            try:
                one.encode("utf-8")
            except UnicodeEncodeError:
                name = param.opts[0] if isinstance(param, TyperOption) else param.metavar
                raise MfawatchError(f"{name} is not UTF-8 text: {os.fsencode(one)!r}") from None


class _Commands(MutableMapping[str, Command]):
    """The group's commands: lazy ones first, in registry order, then those built eagerly."""

    def __init__(self, modules: dict[str, str], eager: dict[str, Command]) -> None:
        self._modules = modules
        self._eager = eager

    def __getitem__(self, name: str) -> Command:
        if name in self._eager:
            return self._eager[name]
        if name not in self._modules:
            raise KeyError(name)
        return module_commands(self._modules[name])[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._eager[name] = command

    def __delitem__(self, name: str) -> None:
        del self._eager[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._modules
        yield from (name for name in self._eager if name not in self._modules)

    def __len__(self) -> int:
        return len(set(self._modules) | set(self._eager))


@functools.cache
def module_commands(module_name: str) -> dict[str, Command]:
    """The commands that a module's ``register(app)`` defines, built as typer builds them."""
    module = importlib.import_module(module_name)
    app = typer.Typer(add_completion=False, rich_markup_mode=None)
    module.register(app)
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = PlainCommand
    return dict(typer.main.get_group(app).commands)


class PlainCommand(TyperCommand):
    def invoke(self, ctx: Any) -> Any:
        check_utf8(ctx)
        return super().invoke(ctx)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)


_PLAIN = (str, int, bool, list[str])  # the annotations parsed without pydantic


def plain_values(params: list[Any]) -> None:
    """Parse str, int, bool and list-of-str parameters without typer's pydantic adapters.

    typer builds a pydantic TypeAdapter for every parameter it parses; importing pydantic
    costs more than the query itself. Other types, and odd values, keep typer's own parsing.
    This leans on typer's internals: tests/test_cli.py notices if pydantic loads again.
    """
    for param in params:
        if not isinstance(param, TyperOption | TyperArgument) or param._runtime_param:
            continue
        info = param.type_descriptor.parameter_info
        annotation = param.type_descriptor.annotation
        if annotation in _PLAIN and info.parser is None and info.min is info.max is None:
            param._runtime_param = _PlainValue(parameter_info=info, annotation=annotation)


@dataclass(frozen=True)
class _PlainValue(RuntimeParam):
    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is self.annotation:
            return value
        strings = isinstance(value, list | tuple) and all(type(v) is str for v in value)
        if self.annotation == list[str] and strings:
            return list(value)
        if self.annotation is int and isinstance(value, str):
            try:
                number = int(value)
            except ValueError:
                message = f"not an integer: {value!r}"
                raise typer.BadParameter(message, ctx=ctx, param=param) from None
            if not -(2**63) <= number < 2**63:  # what a database's BIGINT holds
                message = f"out of range (at most {2**63 - 1}): {value}"
                raise typer.BadParameter(message, ctx=ctx, param=param)
            return number
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param, ctx)
