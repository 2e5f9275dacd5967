"""The ``systolab`` command line.

Each sub-command lives in its own module under :mod:`systolab.commands`, listed in
:data:`COMMANDS`, so this file stays a table of contents. A command's module is imported only
when that command runs (or shows its help): ``systolab --help`` and commands that need no model
capture never import torch. Only the CLI prints; everything below it returns records. User
errors (:class:`hwsim.errors.SystolabError`) and paths the system refuses (:class:`OSError`:
a missing folder, a path under a file, no permission) become one message and exit code 2;
any other exception is a bug, reported in one line (exit code 1) unless ``--debug`` asks for
its traceback. SIGTERM is handled like Ctrl-C: ``finally`` blocks run, stores and checkpoints
stay valid, and long commands say how to resume (exit codes 130 and 143).
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import traceback

import click

from hwsim.errors import Interrupted, SystolabError

# name -> (module under systolab.commands, its click command, the line ``systolab --help``
# shows). The line is kept here so that listing the commands imports none of them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "inspect": ("inspect_cmd", "inspect", "Trace a model and print its layers, shapes and MACs."),
    "simulate": ("simulate_cmd", "simulate",
                 "Cycles, energy and traffic of a model on an accelerator."),
    "costs": ("costs_cmd", "costs", "Per-layer cycles and energy at every bit width."),
    "search": ("search_cmd", "search", "Search per-layer bits and keep ratios of a model."),
    "deepcompress": ("deepcompress_cmd", "deepcompress",
                     "Deep Compression: prune, share weights, Huffman-code."),
    "sweep": ("sweep_cmd", "sweep", "Explore accelerator parameters over workloads."),
    "rtl": ("rtl", "rtl", "Synthesis and cocotb verification of the Verilog kernels."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are run, not when they are listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"systolab.commands.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.option("--debug", is_flag=True, help="Show the full Python traceback of any error.")
@click.version_option(package_name="systolab")
def cli(verbose: int, debug: bool) -> None:
    """systolab: simulate compressed PyTorch models on systolic-array accelerators."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _DEBUG[0] = debug


_DEBUG = [False]  # set by --debug: errors then show their traceback


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that every ``finally`` runs and stores stay valid."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    _DEBUG[0] = False
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="systolab", standalone_mode=False)
    except SystolabError as err:
        if _DEBUG[0]:
            traceback.print_exc()
        click.echo(f"error: {err}", err=True)
        return 2
    except Interrupted as err:  # a long command saying where to resume
        click.echo(f"\n{err}", err=True)
        return 143 if isinstance(err.__cause__, Terminated) else 130
    except BrokenPipeError:  # the reader went away (``systolab ... | head``): nothing to say
        return 1
    except OSError as err:  # a path the user gave: missing folder, under a file, no permission
        where = " -> ".join(repr(str(f)) for f in (err.filename, err.filename2) if f is not None)
        click.echo(f"error: cannot access {where}: {err.strerror}" if where
                   else f"error: {err.strerror or err}", err=True)
        return 2
    except click.exceptions.Abort as err:  # Ctrl-C or SIGTERM (click turns them into Abort)
        terminated = isinstance(err.__context__, Terminated)
        click.echo("terminated" if terminated else "aborted", err=True)
        return 143 if terminated else 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except Exception as err:  # a bug: one line, and the traceback with --debug
        if _DEBUG[0]:
            raise
        click.echo(f"error: internal error ({type(err).__name__}: {str(err)[:300]}); rerun "
                   "with --debug for the traceback, and please report it", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
