"""The e2e supervisor leaves no process behind and keeps logs and scratch in its folder."""

from __future__ import annotations

import os
import time

import pytest

from e2e.processes import StartError, Supervisor


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purposes
        return stat.read().split()[2] != "Z"


def test_stop_all_ends_the_process_and_what_it_started(tmp_path):
    supervisor = Supervisor(tmp_path)
    # the child ignores SIGTERM and leaves a grandchild behind
    process = supervisor.start(
        "stubborn", ["sh", "-c", 'trap "" TERM; echo "$TMPDIR"; sleep 300 & echo $! > child.pid; wait']
    )
    deadline = time.monotonic() + 10
    pid_file = tmp_path / "child.pid"
    while not (pid_file.exists() and pid_file.read_text().endswith("\n")) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int((tmp_path / "child.pid").read_text())
    assert _alive(grandchild)
    supervisor.stop(process, grace=0.5)
    assert not process.running
    assert not _alive(grandchild)
    assert process.log.read_text().strip() == str(tmp_path / "tmp")
    assert process.log.parent == tmp_path / "logs"


def test_a_process_that_dies_early_is_reported_with_its_log(tmp_path):
    supervisor = Supervisor(tmp_path)
    process = supervisor.start("broken", ["sh", "-c", "echo 'flag provided but not defined: -x' >&2; exit 2"])
    with pytest.raises(StartError, match=r"broken exited with 2 before ready:\nflag provided but not defined"):
        supervisor.wait_until(process, lambda: False, "ready", timeout=10)
    supervisor.stop_all()
    assert supervisor.processes == []
