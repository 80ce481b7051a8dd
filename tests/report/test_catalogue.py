"""lossctl.report.catalogue through ``lossctl losses``: every registry name listed, a name's formula and every
convention's definition side by side, and its usage errors."""

from __future__ import annotations

from support import assert_clean_error

from lossctl import registry


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
    spec = registry.get("seg", "dice_loss")
    assert spec.formula in r.out and "formula:" in r.out
    for convention, impl in spec.conventions.items():  # every convention's definition, side by side
        assert f"{convention}: {impl.definition}" in r.out and impl.reference in r.out
    assert "not defined under: torch, sklearn, nnunet" in r.out


def test_losses_catalogue_keeps_square_brackets(cli):
    table = cli("losses")
    assert table.code == 0 and "-[y log p + (1-y) log(1-p)]" in table.out.replace("\n", ""), table.out[:400]
    one = cli("losses", "bce")
    assert "-[y log p + (1-y) log(1-p)] per element" in one.out


def test_losses_name_shows_every_convention_side_by_side(cli):
    r = cli("losses", "focal")
    for spec in (registry.get("seg", "focal"), registry.get("cls", "focal")):
        for convention, impl in spec.conventions.items():
            assert f"{convention}: {impl.definition}" in r.out
            for p in impl.params:
                assert f"param {p.text()}" in r.out


def test_losses_unknown_name_exits_2(cli):
    r = cli("losses", "dice_los")
    assert_clean_error(r, 2, "'dice_los'", "dice_loss")


def test_losses_unknown_format_exits_2(cli):
    assert_clean_error(cli("losses", "-f", "xml"), 2, "'xml'")
