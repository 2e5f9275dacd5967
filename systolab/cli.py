"""The ``systolab`` command line.

Each sub-command lives in its own module under :mod:`systolab.commands` and is registered
here, so this file stays a table of contents. Only the CLI prints; everything below it returns
records. User errors (:class:`hwsim.errors.SystolabError`) become one message and exit code 2.
"""

from __future__ import annotations

import logging
import sys

import click

from hwsim.errors import SystolabError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="systolab")
def cli(verbose: int) -> None:
    """systolab: simulate compressed PyTorch models on systolic-array accelerators."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from systolab.commands import costs_cmd, inspect_cmd, rtl, search_cmd, simulate_cmd, sweep_cmd

    cli.add_command(inspect_cmd.inspect)
    cli.add_command(simulate_cmd.simulate)
    cli.add_command(costs_cmd.costs)
    cli.add_command(search_cmd.search)
    cli.add_command(sweep_cmd.sweep)
    cli.add_command(rtl.rtl)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    _register()
    try:
        cli.main(args=argv, prog_name="systolab", standalone_mode=False)
    except SystolabError as err:
        click.echo(f"error: {err}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
