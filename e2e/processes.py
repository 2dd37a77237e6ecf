"""Start the run's processes with their logs in the run folder; stop every one of them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StartError(Exception):
    """A process did not come up; the message ends with the tail of its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    @property
    def running(self) -> bool:
        return self.popen.poll() is None


class Supervisor:
    """Owns the processes of one run. Each runs in its own session (process group), so
    stopping it also stops what it started; `stop_all` leaves nothing behind."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: list[Process] = []

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Process:
        log = self.logs / f"{name}.log"
        # scratch files of every process stay in the run folder too
        scratch = self.folder / "tmp"
        scratch.mkdir(exist_ok=True)
        env = {**(env if env is not None else os.environ), "TMPDIR": str(scratch)}
        handle = log.open("ab")
        try:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd or self.folder,
                start_new_session=True,
            )
        finally:
            handle.close()
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def wait_until(self, process: Process, ready: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.running:
                raise StartError(
                    f"{process.name} exited with {process.popen.returncode} before {what}:\n{process.tail()}"
                )
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.25)
        raise StartError(f"{process.name}: no {what} after {timeout:.0f} s:\n{process.tail()}")

    def stop(self, process: Process, grace: float = 10.0) -> None:
        if process.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
            try:
                process.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        # the group may outlive its leader (a child that ignored SIGTERM)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        # SIGKILL is delivered asynchronously: return once every member has died.
        deadline = time.monotonic() + 5
        while _group_alive(process.popen.pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop_all(self) -> None:
        """Stop in reverse start order (controllers before the API server before etcd)."""
        for process in reversed(self.processes):
            self.stop(process)
        self.processes.clear()


def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` is still running (zombies excepted)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                return True
    return False
