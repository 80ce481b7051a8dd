"""Matching prediction files to ground-truth files.

Two files make one pair. Three ways to make pairs:

* **Folders** (:func:`pair_files`). Two folders are scanned recursively and their files are matched by a *name*:
  by default the path relative to the folder without the final suffix, so ``pred/a/x.npy`` pairs with
  ``gt/a/x.png`` (predictions are often saved as arrays of scores while masks are images). Hidden files and
  folders (names starting with ``.``) and files with other suffixes are ignored.
* **Name patterns** (:func:`compile_pattern`). A side may instead take its names from a pattern holding exactly
  one ``{name}`` placeholder, matched against the whole path relative to its folder: with
  ``{name}_gtFine_labelIds.png``, ``frankfurt/frankfurt_000000_000294_gtFine_labelIds.png`` is named
  ``frankfurt/frankfurt_000000_000294`` (``{name}`` may span folders; ``*`` matches any characters within one
  folder level). Files the pattern does not match are ignored.
* **A list of pairs** (:func:`lossctl.dataset.pair_lists.read_pairs`): one ``PRED<TAB>GT`` or ``PRED,GT`` line per pair, an optional third
  column naming the image and an optional header ``pred,gt[,name]``. Relative paths are read from the list's
  folder; without a name column the name is the ground-truth path as written, without its suffix.

Either way the name is the pairing key and the image's name in the report, and pairs are sorted by it.
Problems with files raise :class:`~lossctl.errors.PairingError` (an input error) and problems with what was
asked (a malformed pattern or list line, the same folder on both sides) :class:`~lossctl.errors.UsageError`,
each with a one-line message ``<where>: <what is wrong>; <how to fix it>`` that names no command-line option
(a setting it suggests is named in the core's words, :func:`lossctl.errors.setting`; the CLI spells the flag).

This module only matches names; it reads no image contents (see :mod:`lossctl.io`).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from lossctl.errors import PairingError, UsageError, setting
from lossctl.io import stores
from lossctl.io.formats import SUPPORTED_SUFFIXES, file_suffix
from lossctl.io.text import counted, display_path

__all__ = ["Pair", "Pairing", "NamePattern", "compile_pattern", "pair_files", "absent_files", "name_files"]

_SHOWN = 3  # how many unpaired names a message lists per side


@dataclass(frozen=True)
class Pair:
    """One prediction file and its ground-truth file.

    Attributes
    ----------
    name : str
        The key both files share: the path relative to its folder without the final suffix, with POSIX
        separators (``"a/x"``); in single-file mode the stem of the prediction file.
    pred : pathlib.Path
        The prediction file.
    gt : pathlib.Path
        The ground-truth file.
    origin : str or None
        For a pair read from a list, where: ``"pairs.csv line 4"``.
    """

    name: str
    pred: Path
    gt: Path
    origin: str | None = field(default=None, compare=False)  # where a listed pair was read ("l.csv line 4")


@dataclass(frozen=True)
class Pairing:
    """The result of matching two folders (or two files).

    Attributes
    ----------
    pairs : list of Pair
        Matched files, sorted by name (independent of the order the file system lists them in).
    missing_gt : list of str
        Names of prediction files that have no ground truth, sorted.
    missing_pred : list of str
        Names of ground-truth files that have no prediction, sorted.
    pred_root : pathlib.Path or None
        The prediction file or folder that was scanned (None when built by hand); used in messages.
    gt_root : pathlib.Path or None
        The ground-truth file or folder that was scanned (None when built by hand); used in messages.
    """

    pairs: list[Pair]
    missing_gt: list[str]
    missing_pred: list[str]
    pred_root: Path | None = field(default=None, compare=False)
    gt_root: Path | None = field(default=None, compare=False)

    @property
    def complete(self) -> bool:
        """True when every prediction has a ground truth and every ground truth a prediction."""
        return not self.missing_gt and not self.missing_pred

    def require_complete(self) -> None:
        """Raise if any file is unpaired.

        Raises
        ------
        PairingError
            When ``missing_gt`` or ``missing_pred`` is not empty. The message counts the unpaired files of
            each side, names the first three of each, and suggests ``allow_missing`` (the CLI's
            ``--allow-missing``).

        Examples
        --------
        >>> Pairing(pairs=[], missing_gt=[], missing_pred=[]).require_complete()
        >>> Pairing(pairs=[], missing_gt=["b"], missing_pred=[]).require_complete()
        Traceback (most recent call last):
        ...
        lossctl.errors.PairingError: pairing: 1 prediction has no ground truth (b); add the missing files, \
or pass allow_missing=True to evaluate only the 0 complete pairs
        """
        if self.complete:
            return
        where = display_path(self.pred_root) if self.pred_root is not None else "pairing"
        parts = []
        if self.missing_gt:
            n = len(self.missing_gt)
            gt_where = f" in {display_path(self.gt_root)}" if self.gt_root is not None else ""
            verb = "has" if n == 1 else "have"
            parts.append(
                f"{counted(n, 'prediction')} {verb} no ground truth{gt_where} ({_examples(self.missing_gt)})"
            )
        if self.missing_pred:
            n = len(self.missing_pred)
            pred_where = f" in {display_path(self.pred_root)}" if self.pred_root is not None else ""
            verb = "has" if n == 1 else "have"
            parts.append(
                f"{counted(n, 'ground-truth file')} {verb} no prediction{pred_where} ({_examples(self.missing_pred)})"
            )
        raise PairingError(
            f"{where}: {' and '.join(parts)}; add the missing files, or pass {setting('allow_missing', True)} to "
            f"evaluate only the {len(self.pairs)} complete {'pair' if len(self.pairs) == 1 else 'pairs'}"
        )


    def without_absent_files(self) -> Pairing:
        """The pairs whose two files exist; the others move to ``missing_gt`` (the ground truth is absent) or
        ``missing_pred`` (the prediction is). For lists of pairs, whose files are not looked at while pairing."""
        absent = absent_files(self.pairs)
        gone = {pair.name for pair, _, _ in absent}
        missing_gt = self.missing_gt + [pair.name for pair, _, side in absent if side == "ground-truth"]
        missing_pred = self.missing_pred + [pair.name for pair, _, side in absent if side == "prediction"]
        return replace(self, pairs=[p for p in self.pairs if p.name not in gone], missing_gt=sorted(missing_gt),
                       missing_pred=sorted(missing_pred))


def absent_files(pairs: Iterable[Pair]) -> list[tuple[Pair, Path, str]]:
    """``(pair, file, side)`` for each pair with a file that does not exist (the ground truth is looked at
    first); ``side`` is ``"ground-truth"`` or ``"prediction"``."""
    absent = []
    for pair in pairs:
        for path, side in ((pair.gt, "ground-truth"), (pair.pred, "prediction")):
            if not (stores.exists(path) if isinstance(path, stores.Url) else os.path.lexists(path)):
                absent.append((pair, path, side))
                break
    return absent


def _examples(names: list[str]) -> str:
    shown = ", ".join(display_path(name) for name in names[:_SHOWN])
    if len(names) > _SHOWN:
        shown += f", ... ({len(names) - _SHOWN} more)"
    return shown


def _key(relative: str) -> str:
    """The matching key of a path relative to its folder: no final suffix, POSIX separators, Unicode NFC.

    NFC makes ``é`` typed on Linux match ``é`` as macOS file systems store it (decomposed).
    """
    path = Path(relative)
    suffix = file_suffix(path.name)  # ``.nii.gz`` is one suffix
    stemmed = path.with_name(path.name[: len(path.name) - len(suffix)]) if suffix else path
    return unicodedata.normalize("NFC", stemmed.as_posix())


# -- name patterns ----------------------------------------------------------------------------------------------

PLACEHOLDER = "{name}"


@dataclass(frozen=True)
class NamePattern:
    """A compiled ``{name}`` pattern: ``text`` as given, ``regex`` matching a whole relative POSIX path."""

    text: str
    regex: re.Pattern[str] = field(compare=False, repr=False)

    def name_of(self, relative: str) -> str | None:
        """The ``{name}`` part of ``relative`` (POSIX, NFC), or None when the pattern does not match it."""
        found = self.regex.fullmatch(unicodedata.normalize("NFC", relative))
        return found.group("name") if found else None


def _glob_part(text: str) -> str:
    """Regex of a literal piece of a pattern: ``*`` is any run within one folder level, ``?`` one character."""
    return "".join("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in text)


def compile_pattern(text: str) -> NamePattern:
    """Compile a name pattern such as ``{name}_gtFine_labelIds.png`` or ``*/{name}_leftImg8bit.png``.

    Raises
    ------
    UsageError
        If the pattern holds no ``{name}`` or more than one, another ``{...}`` placeholder, or is not a relative
        path (it starts with ``/`` or holds a ``..`` folder).

    Examples
    --------
    >>> compile_pattern("{name}_gtFine_labelIds.png").name_of("bonn/bonn_000001_gtFine_labelIds.png")
    'bonn/bonn_000001'
    >>> compile_pattern("*/{name}.png").name_of("x.png") is None  # "*/" needs one folder level
    True
    """
    count = text.count(PLACEHOLDER)
    example = "e.g. '{name}_gtFine_labelIds.png'"
    if count == 0:
        raise UsageError(f"pattern {text!r} has no {PLACEHOLDER} placeholder; put exactly one where the image's "
                         f"name is, {example}")
    if count > 1:
        raise UsageError(f"pattern {text!r} has {count} {PLACEHOLDER} placeholders; keep exactly one, {example}")
    before, after = text.split(PLACEHOLDER)
    if "{" in before + after or "}" in before + after:
        raise UsageError(f"pattern {text!r} holds a brace outside {PLACEHOLDER}; {PLACEHOLDER} is the only "
                         "placeholder (use * for any characters within a folder)")
    if text.startswith("/") or ".." in text.replace("\\", "/").split("/"):
        raise UsageError(f"pattern {text!r} is matched against paths relative to the folder; drop the leading / "
                         "or the .. parts")
    regex = re.compile(_glob_part(unicodedata.normalize("NFC", before)) + "(?P<name>.+)"
                       + _glob_part(unicodedata.normalize("NFC", after)), re.S)
    return NamePattern(text, regex)


def _scan(root: Path, suffixes: tuple[str, ...], side: str, pattern: NamePattern | None = None) -> dict[str, Path]:
    """Map name -> file for every supported, non-hidden file under ``root`` (recursively) that ``pattern``
    matches (every one without a pattern)."""
    wanted = {suffix.lower() for suffix in suffixes}
    found: dict[str, Path] = {}
    ignored: list[str] = []
    unmatched: list[str] = []
    errors: list[OSError] = []
    for folder, subfolders, files in stores.walk_any(root, errors.append):
        if errors:
            break
        # Prune hidden folders in place, and sort so the scan order (and any message) does not depend on the OS.
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        # a folder named like a supported file (x.png/) takes that file's place, so that reading it reports
        # "is a directory" instead of a confusing pairing error
        entries = sorted(files + [d for d in subfolders if file_suffix(d) in wanted])
        for name in entries:
            if name.startswith("."):
                continue
            path = folder / name if isinstance(folder, stores.Url) else Path(folder, name)
            if file_suffix(name) not in wanted:
                ignored.append(name)
                continue
            relative = path.relative_to(root).as_posix()
            key = _key(relative) if pattern is None else pattern.name_of(relative)
            if key is None:
                unmatched.append(relative)
                continue
            if key in found:
                first, second = sorted([found[key], path])
                if pattern is None:
                    raise PairingError(
                        f"{display_path(first)}: has the same name as {display_path(second)} ({key!r} apart from "
                        f"the suffix), so the {side} match is ambiguous; keep only one of the two files"
                    )
                raise PairingError(
                    f"{display_path(first)}: gives the same name {key!r} as {display_path(second)} under the "
                    f"{side} pattern {pattern.text!r}, so the match is ambiguous; make the pattern more specific "
                    "or keep only one of the two files"
                )
            found[key] = path
    if errors:
        exc = errors[0]
        where = display_path(exc.filename) if exc.filename is not None else display_path(root)
        if isinstance(exc, PermissionError):
            raise PairingError(f"{where}: permission denied while listing the {side} folder; make it readable")
        raise PairingError(f"{where}: cannot list the {side} folder ({exc.strerror or exc}); check the folder")
    if not found and pattern is not None:
        extra = ""
        if unmatched:
            extra = f" (it holds {counted(len(unmatched), 'other file')}, e.g. {display_path(unmatched[0])!r})"
        raise PairingError(
            f"{display_path(root)}: no {side} file matches the pattern {pattern.text!r}{extra}; fix the pattern "
            "(it is matched against each whole path relative to this folder)"
        )
    if not found:
        extra = ""
        if ignored:
            extra = f" (it holds {counted(len(ignored), 'other file')}, e.g. {display_path(sorted(ignored)[0])})"
        raise PairingError(
            f"{display_path(root)}: the {side} folder holds no {', '.join(suffixes)} file{extra}; "
            f"point it at the folder with the {side} files"
        )
    return found


def name_files(root: str | os.PathLike[str], side: str, pattern: NamePattern | None = None) -> dict[str, Path]:
    """The files of folder ``root`` by name, under the rules that name the files of a prediction or ground-truth
    folder (the path relative to ``root`` without its suffix, or ``pattern``'s ``{name}``), for other files that
    go with the pairs (the input images of the HTML report). ``side`` says what they are in messages.

    Raises
    ------
    PairingError
        If ``root`` does not exist or is not a folder, holds no supported file (none ``pattern`` matches), or two
        of its files have the same name.
    """
    path = stores.as_location(root)
    _check_exists(path, side)
    if not _is_dir(path):
        raise PairingError(f"{display_path(path)}: is a file; give the folder of the {side}s")
    return _scan(path, SUPPORTED_SUFFIXES, side, pattern)


def _is_dir(path: Path | stores.Url) -> bool:
    return stores.is_dir(path) if isinstance(path, stores.Url) else path.is_dir()


def _check_exists(path: Path | stores.Url, side: str) -> None:
    if isinstance(path, stores.Url):
        if not stores.exists(path, f"{side} path"):
            raise PairingError(f"{path}: the {side} path does not exist; check the spelling, the bucket and the "
                               "endpoint")
        return
    if path.exists():
        return
    if path.is_symlink():
        raise PairingError(f"{display_path(path)}: the {side} path is a broken symbolic link; fix or remove the link")
    raise PairingError(
        f"{display_path(path)}: the {side} path does not exist; check the spelling and the current folder"
    )


def _same_path(a: Path | stores.Url, b: Path | stores.Url) -> bool:
    if isinstance(a, stores.Url) or isinstance(b, stores.Url):
        return a == b
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def pair_files(
    pred: str | os.PathLike[str],
    gt: str | os.PathLike[str],
    *,
    suffixes: Iterable[str] = SUPPORTED_SUFFIXES,
    pred_pattern: NamePattern | None = None,
    gt_pattern: NamePattern | None = None,
) -> Pairing:
    """Match prediction files to ground-truth files.

    Parameters
    ----------
    pred : str or os.PathLike
        A prediction file, or a folder of them (scanned recursively).
    gt : str or os.PathLike
        A ground-truth file, or a folder of them; must be of the same kind as ``pred``.
    suffixes : iterable of str, optional
        In folder mode, the suffixes of the files to match (compared case-insensitively).
    pred_pattern, gt_pattern : NamePattern, optional
        In folder mode, where each side's names come from (:func:`compile_pattern`); a side without one is
        named by its relative paths without the suffix.

    Returns
    -------
    Pairing
        The pairs sorted by name, and the sorted names left without a partner on each side (call
        :meth:`Pairing.require_complete` to refuse those).

    Raises
    ------
    PairingError
        If a path does not exist; if one is a file and the other a folder; if a folder holds no file with a
        supported suffix (or none its pattern matches); if two files of one folder share a name; if the folders
        have no name in common.
    UsageError
        If ``pred`` and ``gt`` are the same file or folder (two spellings of it included) and would pair files
        with themselves; if a pattern is given for two files.
    """
    pred_path = stores.as_location(pred)
    gt_path = stores.as_location(gt)
    suffix_list = tuple(suffixes)
    _check_exists(pred_path, "prediction")
    _check_exists(gt_path, "ground-truth")
    pred_is_dir = _is_dir(pred_path)
    gt_is_dir = _is_dir(gt_path)
    if pred_is_dir != gt_is_dir:
        folder, file = (pred_path, gt_path) if pred_is_dir else (gt_path, pred_path)
        raise PairingError(
            f"{display_path(file)}: is a file but {display_path(folder)} is a folder; "
            "pass two files or two folders (prediction and ground truth)"
        )
    same = _same_path(pred_path, gt_path)
    kind = "folder" if pred_is_dir else "file"
    if same and pred_pattern == gt_pattern:
        spelled = "" if str(pred_path) == str(gt_path) else f" ({display_path(gt_path)} is another spelling of it)"
        raise UsageError(
            f"{display_path(pred_path)}: is given as both the prediction and the ground-truth {kind}{spelled}, so "
            "every prediction would be scored against itself; pass the ground truth's own " + kind
        )
    if not pred_is_dir:
        if pred_pattern is not None or gt_pattern is not None:
            raise UsageError(f"{display_path(pred_path)}: name patterns apply to folders, but two files were "
                             "given; drop the pattern, or pass the two folders")
        return Pairing(
            pairs=[Pair(name=_key(pred_path.name), pred=pred_path, gt=gt_path)],
            missing_gt=[],
            missing_pred=[],
            pred_root=pred_path,
            gt_root=gt_path,
        )

    pred_files = _scan(pred_path, suffix_list, "prediction", pred_pattern)
    gt_files = _scan(gt_path, suffix_list, "ground-truth", gt_pattern)
    common = sorted(pred_files.keys() & gt_files.keys())
    if same:  # one folder read through two patterns: a file may not pair with itself
        for key in common:
            if pred_files[key].relative_to(pred_path) == gt_files[key].relative_to(gt_path):
                raise UsageError(
                    f"{display_path(pred_files[key])}: both patterns name it {key!r}, so it would be scored "
                    "against itself; make the prediction and ground-truth patterns tell the files apart"
                )
    if not common:
        pred_example = min(pred_files)
        gt_example = min(gt_files)
        how = ("give matching files the same relative path and name (the suffix may differ)"
               if pred_pattern is None and gt_pattern is None else
               "check that the patterns give both sides the same names")
        raise PairingError(
            f"{display_path(pred_path)}: none of its {counted(len(pred_files), 'prediction')} matches one of the "
            f"{counted(len(gt_files), 'ground-truth file')} in {display_path(gt_path)} (e.g. {pred_example!r} vs "
            f"{gt_example!r}); {how}"
        )
    return Pairing(
        pairs=[Pair(name=key, pred=pred_files[key], gt=gt_files[key]) for key in common],
        missing_gt=sorted(pred_files.keys() - gt_files.keys()),
        missing_pred=sorted(gt_files.keys() - pred_files.keys()),
        pred_root=pred_path,
        gt_root=gt_path,
    )
