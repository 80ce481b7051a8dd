"""lossctl.cli.app: the entry point run for real: ``--version``, help, ``python -m lossctl`` in a fresh process,
and the one exit boundary (an interrupt exits 130 without a traceback)."""

from __future__ import annotations

from support import run_subprocess

from lossctl import __version__
from lossctl.engine import seg as seg_engine


def test_version_in_process(cli):
    r = cli("--version")
    assert r.code == 0, r
    assert r.out.strip() == f"lossctl {__version__}"


def test_no_arguments_prints_help(cli):
    r = cli()
    assert r.code in (0, 2), r
    text = r.out + r.err
    assert "Usage:" in text
    for command in ("seg", "cls", "losses"):
        assert command in text
    assert "Traceback" not in text


def test_python_m_lossctl_version_subprocess():
    p = run_subprocess("--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().strip() == f"lossctl {__version__}"


def test_subprocess_json_equals_in_process_json(cli, seg):
    inproc = cli("seg", seg.pred, seg.gt, "-f", "json", "-g", "dice>=0")
    p = run_subprocess("seg", seg.pred, seg.gt, "-f", "json", "-g", "dice>=0")
    assert p.returncode == 0 and inproc.code == 0, p.stderr
    assert p.stdout.decode("utf-8") == inproc.out
    assert b"Traceback" not in p.stderr


def test_keyboard_interrupt_exits_130_without_traceback(cli, seg, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(seg_engine, "evaluate", interrupted)
    r = cli("seg", seg.pred, seg.gt)
    assert r.code == 130
    assert "Traceback" not in r.err and "interrupted" in r.err


def test_seg_help_lists_every_format_it_reads(cli):
    """Images, arrays and volumes, from io.formats' one list of suffixes (the help wraps its lines)."""
    from lossctl.io.formats import SUPPORTED_SUFFIXES

    r = cli("seg", "--help")
    text = " ".join(r.out.split())
    assert r.code == 0 and "volumes (NIfTI .nii/.nii.gz, NRRD .nrrd, MetaImage .mha/.mhd)" in text, r
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in text, suffix


def _modules_after(*args: str) -> set[str]:
    """The modules a fresh ``lossctl ARGS`` process has imported when it exits."""
    import subprocess
    import sys

    code = ("import atexit, sys; sys.argv = ['lossctl', *sys.argv[1:]]; "
            "atexit.register(lambda: print(' '.join(sorted(sys.modules)), file=sys.__stderr__)); "
            "from lossctl.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return set(p.stderr.split())


def test_help_and_version_import_no_numpy_and_build_no_command():
    """``--help`` lists the commands (each module imported for its help line) without NumPy, the engines or
    pydantic; ``--version`` imports no command at all."""
    for args, commands in ((("--help",), {"seg", "cls", "reports"}), (("--version",), set())):
        modules = _modules_after(*args)
        assert not modules & {"numpy", "pydantic", "lossctl.registry", "lossctl.engine.seg"}, args
        assert {m.rpartition(".")[2] for m in modules if m.startswith("lossctl.cli.")} >= commands
        if not commands:
            assert not any(m in modules for m in ("lossctl.cli.seg", "lossctl.cli.cls", "lossctl.cli.reports"))


def test_a_seg_run_builds_no_other_command(seg):
    """Spelling a seg report's settings as options looks them up among seg's own options first: the other
    commands' modules are not imported."""
    modules = _modules_after("seg", str(seg.pred), str(seg.gt), "-f", "json")
    assert "lossctl.cli.seg" in modules
    assert not modules & {"lossctl.cli.cls", "lossctl.cli.reports"}
