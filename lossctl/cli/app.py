"""The Typer app, and how it spells the settings the core names: each as this command line's option.

The core names a setting in its own words (:func:`lossctl.errors.setting`); :func:`option_flags` maps each setting to
its flag, derived from the commands' parameters (a Typer parameter is named after the setting it sets), and
:func:`spell_options`, :func:`spelled` and :func:`stderr_line` render messages, report documents and stderr lines with it.
"""

from __future__ import annotations

import functools
import sys
from typing import Annotated, Any

import typer
import typer.main

from lossctl import __version__

app = typer.Typer(
    name="lossctl",
    help="Losses and metrics of model outputs, computed from files on disk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


#: The command-line option of each setting the core's messages refer to (``LossctlError.option``).
OPTION_NAMES = {"alpha": "--alpha", "pred_kind": "--pred-kind", "kind": "--pred-kind", "target_kind": "--target-kind", "ignore_index": "--ignore-index",
                "weights": "--weights", "class_weights": "--class-weights", "format": "--format",
                "convention": "--convention", "storage_options": "--storage-option"}


def stderr_line(message: str) -> None:
    sys.stderr.write(spell_options(message) + "\n")


def spell_options(text: str) -> str:
    """``text`` with the settings the core names (:func:`lossctl.errors.setting`) spelled as this CLI's options."""
    from lossctl.errors import spell

    return spell(text, option_flags()) if "\x1f" in text else text


def spelled(document: dict[str, Any]) -> dict[str, Any]:
    """The report document with every setting the core named in it spelled as this CLI's options."""
    from lossctl.errors import spell_all

    return spell_all(document, option_flags())


@functools.lru_cache(maxsize=1)
def option_flags() -> dict[str, str]:
    """Each setting the core names -> its option: every command's parameter name -> its long flag (the Typer
    parameters are named after the settings), then the few settings the core names in other words."""
    command = typer.main.get_command(app)
    flags: dict[str, str] = {}
    for sub in getattr(command, "commands", {}).values():
        for param in sub.params:
            long_flags = [o for o in param.opts if o.startswith("--")]
            if param.name and long_flags:
                flags.setdefault(param.name, long_flags[0])
    return {**flags, **OPTION_NAMES}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lossctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """lossctl: evaluate segmentation and classification outputs against ground truth.

    Exit codes: 0 evaluated and every gate passed; 1 a gate failed; 2 usage error; 3 input error
    (a file missing, unreadable or invalid); 70 internal error; 130 interrupted.
    """
