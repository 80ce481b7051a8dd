"""README.md and docs/*.md tell the truth: every option and name is documented, the generated blocks are current,
the links lead somewhere, and every command and Python example of every page runs (docs/development.md, "The docs
test", says how a page's commands are found, where they run and how a page says a command fails on purpose)."""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from support import DOC_PAGES, ROOT, datasets_page_stand_ins, docs_text, invoke

from lossctl import registry
from lossctl.cli import app
from lossctl.report.catalogue import generated_blocks

sys.path.insert(0, str(ROOT / "tools"))
import update_readme  # noqa: E402

TEXTS = {page.relative_to(ROOT).as_posix(): page.read_text(encoding="utf-8") for page in DOC_PAGES}
ALL = docs_text()
#: No line of a page is longer (a table row that needs more is a table that needs another shape).
LONGEST_LINE = 300


# ----------------------------------------------------------------------------------------------------------
# What the pages say
# ----------------------------------------------------------------------------------------------------------


def test_the_front_page_starts_short():
    assert len(TEXTS["README.md"].splitlines()) < 150
    for page in ("recipes", "seg", "cls", "datasets", "volumes", "conventions", "ci", "output", "scaling",
                 "remote", "performance", "troubleshooting", "python", "development"):
        assert f"(docs/{page}.md)" in TEXTS["README.md"], f"the front page does not link docs/{page}.md"


@pytest.mark.parametrize("page", list(TEXTS))
def test_no_line_is_too_long(page: str):
    long = [(n, len(line)) for n, line in enumerate(TEXTS[page].splitlines(), 1) if len(line) > LONGEST_LINE]
    assert not long, f"{page}: lines longer than {LONGEST_LINE} characters (line, length): {long}"


@pytest.mark.parametrize("name, body", [*generated_blocks().items(), ("layout", update_readme.layout_table())])
def test_generated_blocks_are_current(name: str, body: str):
    holders = [page for page, text in TEXTS.items() if f"<!-- BEGIN {name} -->" in text]
    assert len(holders) == 1, f"the block {name} is in {holders or 'no page'}: it belongs in exactly one"
    block = re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", TEXTS[holders[0]], re.S)
    assert block and block.group(1) == body, f"{holders[0]}: the block {name} is stale: run `make readme`"


def test_the_example_outputs_are_current():
    """The outputs shown (the front page's, and `make run`'s in docs/output.md) are what the commands print."""
    for name, body in (("front-page-output", update_readme.command_output(update_readme.FRONT_PAGE)),
                       ("quick-start-output", update_readme.quick_start_output())):
        block = re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", ALL, re.S)
        assert block and block.group(1) == body, f"the block {name} is stale: run `make readme`"


def test_every_registry_name_is_documented():
    for spec in registry.REGISTRY.values():
        assert f"`{spec.name}`" in ALL, spec.name


@pytest.mark.parametrize("command", ["seg", "cls", "merge", "compare", "losses"])
def test_every_option_is_documented(command: str):
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    for param in click_command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", ALL), \
                    f"{command} option {opt} is not in README.md or docs/"


def test_exit_codes_are_documented():
    from lossctl import errors

    for code in (errors.EXIT_OK, errors.EXIT_GATE_FAILED, errors.EXIT_USAGE, errors.EXIT_INPUT,
                 errors.EXIT_INTERNAL, errors.EXIT_INTERRUPTED, errors.EXIT_BROKEN_PIPE):
        for page in ("README.md", "docs/ci.md"):
            assert re.search(rf"^\| {code} \|", TEXTS[page], re.M), f"exit code {code} missing from {page}'s table"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("page", list(TEXTS))
def test_links_lead_to_pages_and_headings_that_exist(page: str):
    here = (ROOT / page).parent
    prose = re.sub(r"```.*?```", "", TEXTS[page], flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (here / path).resolve() if path else ROOT / page
        assert file.exists(), f"{page}: the link {target} leads to no file"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file.read_text(encoding="utf-8")), f"{page}: no heading for #{anchor}"


# ----------------------------------------------------------------------------------------------------------
# What the pages run
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing a page runs: a command (``kind`` "command", with the exit code the page expects), a ``python``
    block or a ``pycon`` block (doctest), at ``line`` of the page; or a command of a ``not-run`` block
    (``kind`` "example"), whose options are checked."""

    kind: str
    text: str
    line: int
    expected: int = 0


#: A command's trailing comment that says the exit code the page expects (`# exit 1: the gate fails`).
EXPECTED_EXIT = re.compile(r"^#\s*exit\s+(\d+)\b")
#: The fenced blocks that may hold commands; a synopsis (`lossctl seg PRED GT [OPTIONS]`) goes in a text block.
COMMAND_BLOCKS = ("console", "bash", "yaml")
#: The word after a fence's language that marks a block the docs test does not run (```` ```bash not-run ````): an
#: example that needs what the test has not (a Dask cluster, a Slurm queue); each option its commands give must
#: still be one of their command's.
NOT_RUN = "not-run"


def _split_comment(line: str) -> tuple[str, str]:
    """``line`` without its trailing shell comment (a ``#`` outside quotes, after a space), and the comment."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and i and line[i - 1] == " ":
            return line[:i].rstrip(), line[i:]
    return line, ""


def _command_lines(kind: str, body: str) -> list[tuple[str, int]]:
    """The lossctl commands of one block (continuation lines joined), with their offset in the block."""
    lines = body.split("\n")
    prompts = kind == "console" and any(line.startswith("$ ") for line in lines)
    found = []
    i = 0
    while i < len(lines):
        start, line = i, lines[i]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        text = line.strip()
        if kind == "yaml":
            text = re.sub(r"^(- )?(run: )?", "", text).strip()
        if prompts:
            if not text.startswith("$ lossctl "):
                continue
            text = text[2:]
        if text.startswith("lossctl "):
            found.append((text, start))
    return found


def _matrix(body: str) -> dict[str, list[str]]:
    """A GitHub Actions matrix of one key: ``{k: [1, 2]}``."""
    return {key: [v.strip() for v in values.split(",")]
            for key, values in re.findall(r"matrix: \{(\w+): \[([^\]]*)\]\}", body)}


def page_steps(text: str) -> list[Step]:
    """Every command, python block and pycon block of a page, in order."""
    steps: list[Step] = []
    for m in re.finditer(r"^```(\w*)( [\w-]+)?\n(.*?)^```", text, re.S | re.M):
        kind, body, line = m.group(1), m.group(3), text[:m.start()].count("\n") + 2
        if m.group(2):
            assert m.group(2) == f" {NOT_RUN}", f"line {line}: a fence takes a language and {NOT_RUN}, not {m.group(2)}"
            steps += [Step("example", command, line + offset) for command, offset in _command_lines(kind, body)]
        elif kind == "python":
            steps.append(Step("python", body, line))
        elif kind == "pycon":
            steps.append(Step("pycon", body, line))
        elif kind in COMMAND_BLOCKS:
            matrix = _matrix(body)
            for command, offset in _command_lines(kind, body):
                command, comment = _split_comment(command)
                expected = EXPECTED_EXIT.match(comment)
                for variant in _expand_matrix(command, matrix):
                    steps.append(Step("command", variant, line + offset, int(expected.group(1)) if expected else 0))
        else:
            stray = [ln for ln in body.splitlines() if re.match(r"(\$ )?lossctl \w", ln)
                     and not re.search(r"\b[A-Z]{2,}\b|\[", ln)]
            assert not stray, f"line {line}: lossctl commands in a {kind or 'plain'} block are never run: {stray}"
    return steps


def _check_options(command: str, where: str) -> None:
    """A command that is not run (``not-run``) still names its command's options: each ``--option`` it gives."""
    words = shlex.split(re.split(r"\s[|;&]", command)[0])
    known = {opt for param in typer.main.get_command(app).commands[words[1]].params  # type: ignore[attr-defined]
             for opt in param.opts}
    unknown = [w for w in words[2:] if w.startswith("-") and w.split("=")[0] not in known]
    assert not unknown, f"{where}: `{command}` gives options lossctl {words[1]} does not have: {unknown}"


def _expand_matrix(command: str, matrix: dict[str, list[str]]) -> Iterator[str]:
    keys = re.findall(r"\$\{\{ matrix\.(\w+) \}\}", command)
    if not keys:
        assert "${{" not in command, f"an expression the docs test cannot evaluate: {command}"
        yield command
        return
    key = keys[0]
    for value in matrix[key]:
        yield from _expand_matrix(command.replace(f"${{{{ matrix.{key} }}}}", value), matrix)


#: The environment of the CI examples.
CI_ENV = {"GITHUB_ACTIONS": "true", "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8",
          "JOB_COMPLETION_INDEX": "0", "NO_COLOR": "1"}
#: Shell syntax a command needs bash for (a pipe, an expansion, a glob, a redirection).
SHELL = re.compile(r"[|$*?<>;&`]")


def _needs_shell(command: str) -> bool:
    unquoted = re.sub(r"'[^']*'", "''", command)
    unquoted = re.sub(r'"[^"]*"', lambda m: '""' if "$" not in m.group(0) else m.group(0), unquoted)
    return bool(SHELL.search(unquoted))


def _run_in_shell(command: str, work: Path, env: dict[str, str]) -> tuple[int, str]:
    for tool in re.findall(r"\|\s*(\w+)", command):
        if tool != "lossctl" and not shutil.which(tool):
            pytest.skip(f"{tool} is not installed: {command}")
    python = shlex.quote(sys.executable)
    line = re.sub(r"(^|[|;&]\s*)lossctl ", lambda m: f"{m.group(1)}{python} -m lossctl ", command)
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=work, capture_output=True, text=True,
                          env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, timeout=300, check=False)
    return done.returncode, done.stderr + done.stdout[-2000:]


def scratch_folder(work: Path, page: str) -> Path:
    """What a page's commands find in the folder they run in: sample_data/, pred and gt (the generic names of the
    CI and scaling examples, linked to the sample probabilities and ground truth), results/, and the stand-ins a
    page's examples name."""
    (work / "sample_data").symlink_to(ROOT / "sample_data")
    (work / "pred").symlink_to(ROOT / "sample_data" / "pred_probs")
    (work / "gt").symlink_to(ROOT / "sample_data" / "gt")
    (work / "results").mkdir()
    if page == "docs/datasets.md":
        datasets_page_stand_ins(work)
    return work


def test_the_pages_run_commands_and_examples():
    every = {page: page_steps(text) for page, text in TEXTS.items()}
    without = {"docs/performance.md", "docs/development.md"}  # make commands only
    assert [page for page, steps in every.items() if not steps] == sorted(without)
    commands = [s.text for steps in every.values() for s in steps if s.kind == "command"]
    assert len(commands) > 60 and any(s.expected for steps in every.values() for s in steps)
    ci = [s.text for s in every["docs/ci.md"] if s.kind == "command"]
    assert any('--write github="$GITHUB_STEP_SUMMARY"' in c for c in ci) and "reports:\n      junit: junit.xml" in \
        TEXTS["docs/ci.md"]
    assert sum(s.kind == "pycon" for s in every["docs/python.md"]) >= 1


@pytest.mark.parametrize("page", list(TEXTS))
def test_every_command_and_example_of_the_page_runs(page: str, tmp_path: Path, capsys, monkeypatch):
    """Each command in the page's order, in a scratch folder; each exits as the page says (0 unless its comment
    says `# exit N`); the Python blocks run there too, the pycon blocks as doctests."""
    work = scratch_folder(tmp_path, page)
    summary = work / "step-summary.md"
    env = {**CI_ENV, "GITHUB_STEP_SUMMARY": str(summary)}
    monkeypatch.chdir(work)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for step in page_steps(TEXTS[page]):
        where = f"{page}:{step.line}"
        if step.kind == "python":
            exec(compile(step.text, where, "exec"), namespace)  # noqa: S102
            capsys.readouterr()
        elif step.kind == "pycon":
            test = doctest.DocTestParser().get_doctest(step.text, namespace, where, page, step.line)
            report: list[str] = []
            result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test, out=report.append)
            capsys.readouterr()
            assert result.failed == 0, f"{where}: the example does not print what it shows\n{''.join(report)}"
        elif step.kind == "example":
            _check_options(step.text, where)
        elif _needs_shell(step.text):
            code, output = _run_in_shell(step.text, work, env)
            assert code == step.expected, f"{where}: `{step.text}` exited {code}, not {step.expected}\n{output}"
        else:
            r = invoke(capsys, monkeypatch, *shlex.split(step.text)[1:], env=env)
            assert r.code == step.expected, f"{where}: `{step.text}` exited {r.code}, not {step.expected}\n{r.err}"
            assert "Traceback" not in r.err, f"{where}: {r.err}"
    if summary.exists():  # the github step summary the CI examples append to
        assert summary.read_text(encoding="utf-8").startswith("<!-- lossctl")
