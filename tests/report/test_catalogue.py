"""lossctl.report.catalogue through ``lossctl losses``: every registry name listed, a name's formula and every
convention's definition side by side, and its usage errors."""

from __future__ import annotations

from support import assert_clean_error

from lossctl import registry


def flat(text: str) -> str:
    """``text`` with its line breaks and indents (the catalogue wraps at the width) as single spaces."""
    return " ".join(text.split())


def test_losses_lists_every_registry_name(cli):
    r = cli("losses")
    assert r.code == 0, r
    md = cli("losses", "-f", "markdown")
    assert md.code == 0, md
    for task, name in registry.REGISTRY:
        assert name in r.out
        assert f"| `{name}` | {task} |" in md.out


def test_losses_name_shows_formula_and_reference(cli):
    r = cli("losses", "dice_loss")
    assert r.code == 0, r
    spec, out = registry.get("seg", "dice_loss"), flat(r.out)
    assert spec.formula in out and "formula:" in out
    for convention, impl in spec.conventions.items():  # every convention's definition, side by side
        assert flat(f"{convention}: {impl.definition}") in out and flat(impl.reference) in out
    assert "not defined under: torch, sklearn, nnunet" in out


def test_losses_catalogue_keeps_square_brackets(cli):
    table = cli("losses")
    assert table.code == 0 and "-[y log p + (1-y) log(1-p)]" in flat(table.out), table.out[:400]
    one = cli("losses", "bce")
    assert "-[y log p + (1-y) log(1-p)] per element" in one.out


def test_losses_name_shows_every_convention_side_by_side(cli):
    r = cli("losses", "focal")
    out = flat(r.out)
    for spec in (registry.get("seg", "focal"), registry.get("cls", "focal")):
        for convention, impl in spec.conventions.items():
            assert flat(f"{convention}: {impl.definition}") in out
            for p in impl.params:
                assert f"param {p.text()}" in out


def test_losses_unknown_name_exits_2(cli):
    r = cli("losses", "dice_los")
    assert_clean_error(r, 2, "'dice_los'", "dice_loss")


def test_losses_unknown_format_exits_2(cli):
    assert_clean_error(cli("losses", "-f", "xml"), 2, "'xml'")


def test_losses_fits_the_width_a_block_per_value(cli):
    r = cli("losses", env={"COLUMNS": "60"})
    assert r.code == 0, r
    assert max(len(line) for line in r.out.splitlines()) <= 60
    first = next(line for line in r.out.splitlines() if line.startswith("dice "))
    assert first.split()[:2] == ["dice", "↑"] and "2TP" in first
    one = cli("losses", "focal", env={"COLUMNS": "60"})
    assert max(len(line) for line in one.out.splitlines()) <= 60
