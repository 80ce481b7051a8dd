"""README.md tells the truth: generated blocks match the registry, every option and name is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lossctl import registry
from lossctl.report.catalogue import generated_blocks
from lossctl.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name, body", list(generated_blocks().items()))
def test_generated_blocks_are_current(name, body):
    block = re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", README, re.S)
    assert block, f"README.md lacks the {name} block"
    assert block.group(1) == body, f"README.md block {name} is stale: run `make readme`"


def test_every_registry_name_is_in_the_readme():
    for spec in registry.REGISTRY.values():
        assert f"`{spec.name}`" in README


@pytest.mark.parametrize("command", ["seg", "cls"])
def test_every_option_is_documented(command):
    import typer.main

    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    for param in click_command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in README, f"{command} option {opt} is not in README.md"


def test_exit_codes_are_documented():
    from lossctl import errors

    for code in (errors.EXIT_OK, errors.EXIT_GATE_FAILED, errors.EXIT_USAGE, errors.EXIT_INPUT,
                 errors.EXIT_INTERNAL, errors.EXIT_INTERRUPTED, errors.EXIT_BROKEN_PIPE):
        assert re.search(rf"^\| {code} \|", README, re.M), f"exit code {code} missing from the README table"


QUICK_START = re.search(r"## Quick start\n.*?By hand:\n\n```console\n(.*?)```", README, re.S).group(1)


@pytest.mark.parametrize("line", [ln for ln in QUICK_START.splitlines() if ln.startswith(".venv/bin/lossctl")])
def test_quick_start_commands_run_and_pass(line, capsys, monkeypatch):
    import shlex
    import sys
    from pathlib import Path

    from lossctl.cli import main

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    argv = shlex.split(line.split("|")[0])[1:]
    monkeypatch.setattr(sys, "argv", ["lossctl", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0, capsys.readouterr().err


CI_SECTION = re.search(r"\n## Use in CI\n(.*?)\n## (?!#)", README, re.S).group(1)


def _ci_commands() -> list[str]:
    """The lossctl commands of the "Use in CI" section's console and YAML blocks, in order (continuation
    lines joined, YAML list dashes dropped)."""
    commands = []
    for block in re.findall(r"```(?:console|yaml)\n(.*?)```", CI_SECTION, re.S):
        for line in re.sub(r"\\\n\s*", "", block).splitlines():
            line = line.strip().removeprefix("- ").strip()
            if line.startswith("lossctl "):
                commands.append(line)
    return commands


def test_the_ci_examples_have_github_and_gitlab_jobs():
    assert "--write github=\"$GITHUB_STEP_SUMMARY\"" in CI_SECTION and "reports:\n      junit: junit.xml" in CI_SECTION
    assert len(_ci_commands()) == 4


def test_the_ci_examples_run(tmp_path):
    """Run them for real (a shell, the installed entry point), as the CI jobs would, in a fresh folder."""
    import os
    import shlex
    import subprocess
    import sys

    (tmp_path / "sample_data").symlink_to(Path(__file__).resolve().parent.parent / "sample_data")
    summary = tmp_path / "summary.md"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true", "NO_COLOR": "1"}
    for command in _ci_commands():
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, f"{command}\n{done.stderr[-3000:]}"
        for word in shlex.split(os.path.expandvars(command.replace("$GITHUB_STEP_SUMMARY", str(summary)))):
            if "=" in word and word.split("=", 1)[0] in ("json", "junit", "github", "openmetrics"):
                assert (tmp_path / word.split("=", 1)[1]).stat().st_size > 0, word
    assert (tmp_path / "html-report" / "index.html").exists() and summary.read_text().startswith("<!-- lossctl")
