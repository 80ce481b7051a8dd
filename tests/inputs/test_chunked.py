"""Chunked evaluation: a soft map too large for the memory budget is evaluated in chunks of its leading spatial
axis, and every value is the same (bit for bit, so within 1e-12 relative) as the whole-map evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lossctl import registry
from lossctl.inputs import confusion
from lossctl.inputs.confusion import confusion_matrix
from lossctl.inputs.chunked import ChunkedInput, chunk_rows
from lossctl.inputs.seg import prepare

LOSSES = [s for s in registry.specs("seg") if s.kind == "loss"]


def _volume(rng: np.random.Generator, kind: str, c: int = 4, shape: tuple[int, ...] = (7, 5, 6)):
    if kind == "binary-probs":
        return rng.random(shape).astype(np.float32), (rng.random(shape) > 0.6).astype(np.uint8), {}
    if kind == "binary-logits":
        return rng.normal(size=shape), (rng.random(shape) > 0.6).astype(np.uint8), {"kind": "logits"}
    logits = rng.normal(size=(c, *shape))
    target = rng.integers(0, c, shape).astype(np.uint8)
    target[2] = 0  # a slice with one class only
    if kind == "logits":
        return logits, target, {"kind": "logits"}
    probs = np.exp(logits) / np.exp(logits).sum(axis=0)
    return probs.astype(np.float32), target, {}


@pytest.mark.parametrize("kind", ["probs", "logits", "binary-probs", "binary-logits"])
@pytest.mark.parametrize("ignore", [(), (3,)])
def test_chunks_give_the_whole_map_values_bit_for_bit(kind, ignore):
    pred, target, options = _volume(np.random.default_rng(len(kind) + len(ignore)), kind)
    if ignore:
        target[0, :2] = 3 if kind.startswith("probs") or kind == "logits" else 1
        options = {**options, "ignore_index": ignore}
    whole = prepare(pred, target, **options)
    for rows in (1, 2, 3, target.shape[0]):
        chunked = ChunkedInput(pred, target, rows, **options)
        assert (chunked.confusion == whole.confusion).all()
        for spec in LOSSES:
            a, a_per_class = spec.evaluate(whole)
            b, b_per_class = spec.evaluate(chunked)
            assert a == b or (np.isnan(a) and np.isnan(b)), (spec.name, rows, a, b)
            if a_per_class is not None:
                assert np.array_equal(a_per_class, b_per_class, equal_nan=True), (spec.name, rows)


def test_chunk_rows_follow_the_budget():
    pred = np.zeros((5, 8, 10, 10), np.float32)
    per_slice = 100 * (16 * 5 + 64 + 4 * 5)  # a decoded (not memory-mapped) map is counted too
    assert chunk_rows(pred, (8, 10, 10), 8 * per_slice) is None
    assert chunk_rows(pred, (8, 10, 10), 3 * per_slice + 1) == 3
    assert chunk_rows(pred, (8, 10, 10), 1) == 1
    assert chunk_rows(np.zeros((8, 10, 10), np.uint8), (8, 10, 10), 1) is None  # labels are never chunked


def test_a_chunk_of_only_0_and_255_does_not_turn_255_into_a_class():
    probs = np.full((2, 4, 3), 0.5, np.float32)
    target = np.zeros((4, 3), np.uint8)
    target[0] = 255  # 0/255 in chunk 0 only; the whole mask also holds 1: 255 is an unknown label
    target[3] = 1
    with pytest.raises(Exception, match="holds label 255 but there are only 2 classes"):
        prepare(probs, target)
    with pytest.raises(Exception, match="holds label 255 but there are only 2 classes"):
        ChunkedInput(probs, target, 1)


def test_confusion_builder_keeps_labels_narrow_and_counts_like_bincount():
    rng = np.random.default_rng(0)
    for c in (2, 14, 16, 17, 300):
        t = rng.integers(0, c, 100_003).astype(np.uint16 if c > 255 else np.uint8)
        p = rng.integers(0, c, 100_003).astype(np.int64)
        expected = np.bincount(t.astype(np.int64) * c + p, minlength=c * c).reshape(c, c)
        assert (confusion_matrix(t, p, c) == expected).all()


def test_cli_report_is_byte_identical_with_a_tiny_budget(cli, tmp_path, monkeypatch):
    """A 7-slice volume under --max-memory 20K (one slice per chunk, besides the target and the Lovász-Softmax's
    class) is evaluated in chunks; the report (its options aside) is the same bytes as without chunking, with one
    worker or two."""
    rng = np.random.default_rng(3)
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    for name in ("a", "b", "c", "d"):
        probs, target, _ = _volume(rng, "probs", c=3, shape=(7, 8, 9))
        np.save(tmp_path / "pred" / f"{name}.npy", probs)
        np.save(tmp_path / "gt" / f"{name}.npy", target)
    built = []
    real_init = ChunkedInput.__init__

    def spy(self, pred, target, rows, **options):
        built.append(rows)
        real_init(self, pred, target, rows, **options)
    monkeypatch.setattr(ChunkedInput, "__init__", spy)

    def report(*args):
        r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json", *args)
        assert r.code == 0, r
        doc = json.loads(r.out)
        del doc["config"]["options"]["max_memory"]
        return json.dumps(doc, sort_keys=True)

    whole = report("--max-memory", "1G", "--workers", "1")
    assert built == []
    assert report("--max-memory", "20K", "--workers", "1") == whole
    assert built and max(built) < 7  # chunked, in fewer than the 7 slices
    assert report("--max-memory", "24K", "--workers", "1") == whole
    assert report("--max-memory", "20K", "--workers", "2") == whole


def test_label_volumes_of_a_given_class_count_are_evaluated_in_chunks(cli, tmp_path, monkeypatch):
    """A label pair under a tiny budget, with the class count given (so that no chunk reads its labels otherwise):
    the confusion matrix is added up over chunks, and the report (its options aside) is the same bytes; without
    the class count (inferred from the labels) the pair is refused with the budget."""
    rng = np.random.default_rng(5)
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    target = rng.integers(0, 4, (9, 10, 11)).astype(np.uint8)
    prediction = np.where(rng.random(target.shape) < 0.2, (target + 1) % 4, target).astype(np.uint8)
    np.save(tmp_path / "pred" / "a.npy", prediction)
    np.save(tmp_path / "gt" / "a.npy", target)
    built = []
    real_init = ChunkedInput.__init__

    def spy(self, pred, target, rows, **options):
        built.append(rows)
        real_init(self, pred, target, rows, **options)
    monkeypatch.setattr(ChunkedInput, "__init__", spy)

    def report(*args):
        r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json", "--num-classes", "4", "--region", "fg=1,2,3",
                *args)
        assert r.code == 0, r
        doc = json.loads(r.out)
        del doc["config"]["options"]["max_memory"]
        return json.dumps(doc, sort_keys=True)

    whole = report("--max-memory", "1G")
    assert built == []
    assert report("--max-memory", "2K") == whole
    assert built and max(built) < 9
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--max-memory", "2K")
    assert r.code == 3 and "more than the memory budget of 2 KiB" in r.error_lines()[0], r


@pytest.mark.parametrize("args", [("--convention", "torch", "--pred-kind", "logits", "-l", "ce"),
                                  ("--pred-kind", "logits", "-m", "dice", "-m", "hd95")])
def test_values_not_evaluated_in_chunks_are_refused_with_the_budget(cli, tmp_path, args):
    rng = np.random.default_rng(4)
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    logits, target, _ = _volume(rng, "logits", c=3, shape=(7, 8, 9))
    np.save(tmp_path / "pred" / "a.npy", logits)
    np.save(tmp_path / "gt" / "a.npy", target)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--max-memory", "9K", *args)
    assert r.code == 3, r
    assert "Traceback" not in r.err
    assert any("more than the memory budget of 9 KiB; if the files are trusted raise --max-memory" in line
               and "or evaluate it in chunks: --convention lossctl without --region" in line
               for line in r.error_lines()), r
    assert cli("seg", tmp_path / "pred", tmp_path / "gt", *args).code == 0


@pytest.mark.parametrize("classes", [1, 2, 3, 4, 5, 17])
def test_confusion_matrix_counts_every_pair(classes: int) -> None:
    """Every counting route (2 classes by counts of ones, up to 4 by packed nibbles, up to 16 by byte pairs,
    wide keys above) gives the pairs' counts, over several blocks and a partial last one."""
    rng = np.random.default_rng(classes)
    shape = (3, 700, 1001)  # not a multiple of the block
    target = rng.integers(0, classes, size=shape, dtype=np.uint8)
    pred = rng.integers(0, classes, size=shape, dtype=np.uint8)
    expected = np.zeros((classes, classes), np.int64)
    np.add.at(expected, (target.ravel().astype(np.intp), pred.ravel().astype(np.intp)), 1)
    np.testing.assert_array_equal(confusion_matrix(target, pred, classes), expected)


@pytest.mark.parametrize("classes", [1, 2, 4, 5, 16, 17, 255, 256, 300])
@pytest.mark.parametrize("block", [4, 8, 64])
def test_confusion_matrix_is_bincount_of_the_fused_key_at_every_size(classes, block, monkeypatch):
    """Property: the matrix is ``bincount(C * target + pred)`` reshaped, for empty and one-pixel images, odd sizes
    (a key left over beyond the packed words) and sizes around the block boundaries, in any label dtype."""
    monkeypatch.setattr(confusion, "PACKED_BLOCK", block)
    monkeypatch.setattr(confusion, "WIDE_BLOCK", block)
    rng = np.random.default_rng(classes * 1000 + block)
    dtypes = [np.uint16, np.int64] if classes > 256 else [np.uint8, np.uint16, np.int64, np.intp]
    for size in sorted({0, 1, 2, 3, 5, 7, block - 1, block, block + 1, block + 3, 3 * block - 1, 5 * block + 2}):
        for dtype in dtypes:
            target = rng.integers(0, classes, size).astype(dtype)
            pred = rng.integers(0, classes, size).astype(dtypes[-1 - dtypes.index(dtype)])
            expected = np.bincount(target.astype(np.int64) * classes + pred.astype(np.int64),
                                   minlength=classes * classes).reshape(classes, classes)
            got = confusion_matrix(target, pred, classes)
            assert got.dtype == np.int64, (size, dtype)
            np.testing.assert_array_equal(got, expected, err_msg=f"{size} pixels of {np.dtype(dtype)}")


@pytest.mark.parametrize("classes", [2, 4, 16])
def test_confusion_matrix_counts_a_single_pair_and_the_extreme_keys(classes):
    """Every pixel the same pair (a histogram with one bin), among them the largest key ``C**2 - 1``."""
    for t, p in [(0, 0), (classes - 1, classes - 1), (0, classes - 1), (classes - 1, 0)]:
        for size in (1, 6, 1001):
            expected = np.zeros((classes, classes), np.int64)
            expected[t, p] = size
            got = confusion_matrix(np.full(size, t, np.uint8), np.full(size, p, np.uint8), classes)
            np.testing.assert_array_equal(got, expected)
