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
feature_store_app = typer.Typer(
    help="The feature store (Feast): point-in-time demand features for training and serving.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(feature_store_app, name="feature-store")
GROUPS = {"feature-store": feature_store_app}  # a job's `group` (nyctaxi.jobs.Job) → its command group
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


def _version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        typer.echo(f"nyctaxi {version('nyctaxi')}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="show tracebacks (anywhere on the line)")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="no live progress, only each step's line")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    from nyctaxi.logs import quiet_libraries, start
    from nyctaxi.progress import set_quiet

    _state["verbose"] = verbose
    set_quiet(quiet)
    process_defaults()
    log = start(Settings().log_dir, ctx.invoked_subcommand or "nyctaxi")
    if verbose or ctx.invoked_subcommand == "serve":  # a server's log is its console
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    else:  # the console is the command's own lines; everything logged goes to the log file
        handler = logging.FileHandler(log, encoding="utf-8", delay=True)  # no file until a record
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.basicConfig(level=logging.INFO, handlers=[handler])
        quiet_libraries()
