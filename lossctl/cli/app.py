"""The Typer app, and how it spells the settings the core names: each as this command line's option.

The core names a setting in its own words (:func:`lossctl.errors.setting`); :func:`option_flags` maps each setting to
its flag, derived from the commands' parameters (a Typer parameter is named after the setting it sets), and
:func:`spell_options`, :func:`spelled` and :func:`stderr_line` render messages, report documents and stderr lines with it.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup
from typer.models import CommandInfo

from lossctl import __version__

#: Each command -> ``module:function``, the function that runs it, in the order ``--help`` lists them (see :func:`command`).
_COMMANDS: dict[str, str] = {}
_BUILT: dict[str, Any] = {}


def command(name: str, function: str) -> None:
    """Add the command ``name``, run by ``function`` (``module:function``): its module is imported and its options
    built the first time the command is used (run, or listed by ``--help``)."""
    _COMMANDS[name] = function


def _built(name: str) -> Any:
    """The click command ``name``, built once: Typer gives each option of a built command a pydantic parser (about
    1 ms each, and the first one imports pydantic), so ``lossctl seg`` builds seg's options alone, ``--version`` none."""
    if name not in _BUILT:
        module, _, function = _COMMANDS[name].partition(":")
        callback = getattr(importlib.import_module(module), function)
        _BUILT[name] = typer.main.get_command_from_info(
            CommandInfo(name=name, callback=callback), pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode)
    return _BUILT[name]


class _BuiltOnUse(MutableMapping[str, Any]):
    """The root group's commands, each built when first looked up (:func:`_built`)."""

    def __init__(self) -> None:
        self._added: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        return self._added[name] if name in self._added else _built(name)

    def __setitem__(self, name: str, built: Any) -> None:
        self._added[name] = built

    def __delitem__(self, name: str) -> None:
        del self._added[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(_COMMANDS), **self._added})

    def __len__(self) -> int:
        return len({**dict.fromkeys(_COMMANDS), **self._added})


class _Commands(TyperGroup):
    """The ``lossctl`` group: its commands built on use (:class:`_BuiltOnUse`)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _BuiltOnUse()

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names alone: building each is for get_command


app = typer.Typer(
    name="lossctl",
    cls=_Commands,
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
def option_flags() -> Mapping[str, str]:
    """Each setting the core names -> its option: every command's parameter name -> its long flag (the Typer
    parameters are named after the settings; the first command in ``--help`` order that has the setting spells
    it), then the few settings the core names in other words (:data:`OPTION_NAMES`)."""
    return _SettingFlags()


class _SettingFlags(Mapping[str, str]):
    """:func:`option_flags`, looked up command by command: a setting of the command being run is found among its
    own options, without building the other commands."""

    def __getitem__(self, setting: str) -> str:
        if setting in OPTION_NAMES:
            return OPTION_NAMES[setting]
        for name in _COMMANDS:
            flag = _long_flags(name).get(setting)
            if flag is not None:
                return flag
        raise KeyError(setting)

    def __iter__(self) -> Iterator[str]:
        return iter({**{s: f for name in _COMMANDS for s, f in _long_flags(name).items()}, **OPTION_NAMES})

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return True  # never empty (OPTION_NAMES), and known so without building every command


@functools.cache
def _long_flags(name: str) -> dict[str, str]:
    """Each parameter of the command ``name`` -> its first long flag."""
    flags: dict[str, str] = {}
    for param in _built(name).params:
        long_flags = [o for o in param.opts if o.startswith("--")]
        if param.name and long_flags:
            flags.setdefault(param.name, long_flags[0])
    return flags


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
