"""Matching prediction files to ground-truth files.

Two files make one pair. Two folders are scanned recursively and their files are matched by their path relative to
the folder, without the final suffix, so ``pred/a/x.npy`` pairs with ``gt/a/x.png``: predictions are often saved as
arrays of scores while masks are images. Hidden files and folders (names starting with ``.``) and files with
other suffixes are ignored. Every problem raises :class:`~lossctl.errors.PairingError` with a one-line message
``<path>: <what is wrong>; <how to fix it>``.

This module only matches names; it reads no file contents (see :mod:`lossctl.io`).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lossctl.errors import PairingError
from lossctl.io import SUPPORTED_SUFFIXES, display_path, file_suffix

__all__ = ["Pair", "Pairing", "pair_files"]

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
    """

    name: str
    pred: Path
    gt: Path


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
            each side, names the first three of each, and suggests ``--allow-missing``.

        Examples
        --------
        >>> Pairing(pairs=[], missing_gt=[], missing_pred=[]).require_complete()
        >>> Pairing(pairs=[], missing_gt=["b"], missing_pred=[]).require_complete()
        Traceback (most recent call last):
        ...
        lossctl.errors.PairingError: pairing: 1 prediction has no ground truth (b); add the missing files, \
or pass --allow-missing to evaluate only the 0 complete pairs
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
                f"{_count(n, 'prediction')} {verb} no ground truth{gt_where} ({_examples(self.missing_gt)})"
            )
        if self.missing_pred:
            n = len(self.missing_pred)
            pred_where = f" in {display_path(self.pred_root)}" if self.pred_root is not None else ""
            verb = "has" if n == 1 else "have"
            parts.append(
                f"{_count(n, 'ground-truth file')} {verb} no prediction{pred_where} ({_examples(self.missing_pred)})"
            )
        raise PairingError(
            f"{where}: {' and '.join(parts)}; add the missing files, or pass --allow-missing to evaluate only "
            f"the {len(self.pairs)} complete {'pair' if len(self.pairs) == 1 else 'pairs'}"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


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


def _scan(root: Path, suffixes: tuple[str, ...], side: str) -> dict[str, Path]:
    """Map key -> file for every supported, non-hidden file under ``root`` (recursively)."""
    wanted = {suffix.lower() for suffix in suffixes}
    found: dict[str, Path] = {}
    ignored: list[str] = []
    errors: list[OSError] = []
    for folder, subfolders, files in os.walk(root, onerror=errors.append):
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
            path = Path(folder, name)
            if file_suffix(name) not in wanted:
                ignored.append(name)
                continue
            key = _key(path.relative_to(root).as_posix())
            if key in found:
                first, second = sorted([found[key], path])
                raise PairingError(
                    f"{display_path(first)}: has the same name as {display_path(second)} ({key!r} apart from "
                    f"the suffix), so the {side} match is ambiguous; keep only one of the two files"
                )
            found[key] = path
    if errors:
        exc = errors[0]
        where = display_path(exc.filename) if exc.filename is not None else display_path(root)
        if isinstance(exc, PermissionError):
            raise PairingError(f"{where}: permission denied while listing the {side} folder; make it readable")
        raise PairingError(f"{where}: cannot list the {side} folder ({exc.strerror or exc}); check the folder")
    if not found:
        extra = ""
        if ignored:
            extra = f" (it holds {_count(len(ignored), 'other file')}, e.g. {display_path(sorted(ignored)[0])})"
        raise PairingError(
            f"{display_path(root)}: the {side} folder holds no {', '.join(suffixes)} file{extra}; "
            f"point it at the folder with the {side} files"
        )
    return found


def _check_exists(path: Path, side: str) -> None:
    if path.exists():
        return
    if path.is_symlink():
        raise PairingError(f"{display_path(path)}: the {side} path is a broken symbolic link; fix or remove the link")
    raise PairingError(
        f"{display_path(path)}: the {side} path does not exist; check the spelling and the current folder"
    )


def pair_files(
    pred: str | os.PathLike[str],
    gt: str | os.PathLike[str],
    *,
    suffixes: Iterable[str] = SUPPORTED_SUFFIXES,
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

    Returns
    -------
    Pairing
        The pairs sorted by name, and the sorted names left without a partner on each side (call
        :meth:`Pairing.require_complete` to refuse those).

    Raises
    ------
    PairingError
        If a path does not exist; if one is a file and the other a folder; if a folder holds no file with a
        supported suffix; if two files of one folder share a name apart from the suffix; if the folders have no
        name in common.
    """
    pred_path = Path(pred)
    gt_path = Path(gt)
    suffix_list = tuple(suffixes)
    _check_exists(pred_path, "prediction")
    _check_exists(gt_path, "ground-truth")
    pred_is_dir = pred_path.is_dir()
    gt_is_dir = gt_path.is_dir()
    if pred_is_dir != gt_is_dir:
        folder, file = (pred_path, gt_path) if pred_is_dir else (gt_path, pred_path)
        raise PairingError(
            f"{display_path(file)}: is a file but {display_path(folder)} is a folder; "
            "pass two files or two folders (prediction and ground truth)"
        )
    if not pred_is_dir:
        return Pairing(
            pairs=[Pair(name=pred_path.stem, pred=pred_path, gt=gt_path)],
            missing_gt=[],
            missing_pred=[],
            pred_root=pred_path,
            gt_root=gt_path,
        )

    pred_files = _scan(pred_path, suffix_list, "prediction")
    gt_files = _scan(gt_path, suffix_list, "ground-truth")
    common = sorted(pred_files.keys() & gt_files.keys())
    if not common:
        pred_example = min(pred_files)
        gt_example = min(gt_files)
        raise PairingError(
            f"{display_path(pred_path)}: none of its {_count(len(pred_files), 'prediction')} matches one of the "
            f"{_count(len(gt_files), 'ground-truth file')} in {display_path(gt_path)} (e.g. {pred_example!r} vs "
            f"{gt_example!r}); give matching files the same relative path and name (the suffix may differ)"
        )
    return Pairing(
        pairs=[Pair(name=key, pred=pred_files[key], gt=gt_files[key]) for key in common],
        missing_gt=sorted(pred_files.keys() - gt_files.keys()),
        missing_pred=sorted(gt_files.keys() - pred_files.keys()),
        pred_root=pred_path,
        gt_root=gt_path,
    )
