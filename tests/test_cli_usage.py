"""The usage contract of every entry point: one line `mcpds: error: ...` naming the flag
and the fix (did you mean, for a misspelt flag, command or choice), exit 2, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mcpds import cli
from offline import bench, policy_run, render
from offline.harness import PROJECT_ROOT


def _run(main: Callable[[list[str]], int], argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse exits from inside parse_args
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert captured.out == "", captured.out
    return code, captured.err


# (entry point, arguments, what the one line must say)
MISUSE = [
    (cli.main, ["client-config", "--outptus", "x.json"], ["--outptus is not a flag", "Did you mean --outputs?"]),
    (cli.main, ["verify", "--outputs", "x.json", "--ca-bundel", "ca.pem"], ["Did you mean --ca-bundle?"]),
    (cli.main, ["seal", "--cert", "c.pem", "--namspace", "x"], ["--namspace", "Did you mean --namespace?"]),
    (cli.main, ["client-config"], ["needs --outputs FILE or --stack NAME", "pass one"]),
    (cli.main, ["seal", "--cert", "c.pem"], ["needs --namespace NAMESPACE (namespace of the Secret)", "add them"]),
    (cli.main, ["verify", "--outputs", "x.json", "--timeout", "soon"], ["--timeout 'soon' is not a number", "15.0"]),
    (cli.main, ["verify", "--outputs"], ["--outputs needs a value: --outputs FILE"]),
    (cli.main, ["verify", "--outputs", "a", "--stack", "b"], ["exclude each other", "pass only one"]),
    (cli.main, ["verify", "--outputs", "a", "--no-probe-plan=yes"], ["--no-probe-plan takes no value"]),
    (
        cli.main,
        ["seal", "--cert", "c", "--namespace", "n", "--name", "x", "--key", "k", "--scope", "strikt"],
        [
            "'strikt' is not a value of --scope",
            "Did you mean strict?",
        ],
    ),
    (cli.main, ["verfy"], ["'verfy' is not a command", "Did you mean verify?", "client-config, verify, seal"]),
    (cli.main, [], ["name a command", "--help"]),
    (cli.main, ["client-config", "--outputs", "x.json", "stray"], ["unexpected argument 'stray'"]),
    (render.main, ["--stak", "dev"], ["--stak is not a flag", "Did you mean --stack?"]),
    (render.main, ["--stack"], ["--stack needs a value"]),
    (policy_run.main, ["--stack", "dev", "--confg", "x.json"], ["Did you mean --config?"]),
    (bench.main, ["--runs", "many"], ["--runs 'many' is not a whole number", "--runs 7"]),
]


@pytest.mark.parametrize(
    ("main", "argv", "fragments"), MISUSE, ids=[f"{m.__module__}:{' '.join(a) or '-'}" for m, a, _ in MISUSE]
)
def test_usage_errors_are_one_line_naming_the_flag_and_the_fix(main, argv, fragments, capsys):
    code, err = _run(main, argv, capsys)
    assert code == 2
    assert err.startswith("mcpds: error: "), err
    assert len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert "usage:" not in err


def test_help_still_works(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["verify", "--help"])
    assert caught.value.code == 0
    assert "--ca-bundle" in capsys.readouterr().out


def test_a_real_process_prints_one_line(tmp_path: Path):
    """The modules as users run them: `python -m mcpds` and `python -m offline.render`."""
    for argv in (["-m", "mcpds", "client-config", "--outptus", "x"], ["-m", "offline.render", "--stak", "dev"]):
        proc = subprocess.run(
            [sys.executable, *argv], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr.count("\n") == 1
        assert proc.stderr.startswith("mcpds: error: --")
        assert "Did you mean --" in proc.stderr


def test_an_unwritable_out_names_the_fix(stack_runs, tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(render.stack_outputs(stack_runs["dev"])))
    blocked = Path("/proc/mcpds-no-such-dir")  # no one, root included, can create a directory in /proc
    code, err = _run(cli.main, ["client-config", "--outputs", str(outputs), "--out", str(blocked)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "cannot write /proc/mcpds-no-such-dir/" in err
    assert "pass --out with a directory you can write" in err
