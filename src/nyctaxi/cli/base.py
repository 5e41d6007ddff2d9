"""The CLI's app, shared option types, and how a command fails: one clear line (a traceback only
with --verbose)."""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from typing import Annotated

import typer

from nyctaxi.config import Settings, process_defaults
from nyctaxi.errors import InvalidArgument
from nyctaxi.months import Month, parse_month_range

app = typer.Typer(
    help="NYC TLC trips: ingest → bronze → silver → gold on Spark + Delta.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_state = {"verbose": False}

ServiceOpt = Annotated[str, typer.Option("--service", help="yellow or green")]
MonthOpt = Annotated[str | None, typer.Option("--month", help="YYYY-MM")]
MonthsOpt = Annotated[str | None, typer.Option("--months", help="YYYY-MM..YYYY-MM (inclusive)")]


def fail(message: str) -> None:
    if _state["verbose"]:
        traceback.print_exc()
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def command(fn: Callable) -> Callable:
    """Register a command whose failures print one clear line (traceback only with --verbose)."""
    return app.command()(handled(fn))


def handled(fn: Callable, name: str | None = None) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from nyctaxi.failures import error_line

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # ours, a bug or an environment problem: one line either way
            fail(error_line(name or fn.__name__, error))

    return wrapper


def months_of(month: str | None, months: str | None) -> list[Month]:
    if bool(month) == bool(months):
        raise InvalidArgument("give exactly one of --month YYYY-MM or --months YYYY-MM..YYYY-MM")
    return parse_month_range(months) if months else [Month.parse(month)]


@app.callback()
def _main(
    ctx: typer.Context, verbose: Annotated[bool, typer.Option("--verbose", help="show tracebacks")] = False
) -> None:
    from nyctaxi.logs import start

    _state["verbose"] = verbose
    process_defaults()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    start(Settings().log_dir, ctx.invoked_subcommand or "nyctaxi")
