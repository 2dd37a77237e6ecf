"""Serve the files an MCP server writes for its users, read-only, by unguessable name.

The `outputs` sidecar of an MCP server's backend pod (components/outputs.py): it shares
only the outputs volume with the server, listens on OUTPUTS_PORT, and the edge sends
`https://<domain><route>/outputs/<name>` here as `/<name>`. Python's standard library
only, so it runs from the data exploration image this project already builds.

- `GET`/`HEAD /<name>`, where name is 32 to 64 lowercase hex digits (at least 128 bits,
  what `secrets.token_hex(16)` gives) and one of OUTPUTS_EXTENSIONS: the file, if it is a
  regular file directly in OUTPUTS_DIR (no symlink, no subdirectory). Anything else, the
  root included, is 404: no listing, and a guessable name (`plot.png`, a timestamp) is
  never served. Other methods: 405. `/healthz`: the probe.
- Headers: the file type's Content-Type, `X-Content-Type-Options: nosniff`, no Referer
  and no framing, and a Content-Security-Policy that lets an HTML chart run only its own
  inline scripts (by SHA-256, computed from the file) and the script URLs named in
  OUTPUTS_SCRIPT_SOURCES, connect nowhere, submit no form, inside a sandbox without
  same-origin; images and data files run nothing.
- Retention: every OUTPUTS_SWEEP_SECONDS, files older than OUTPUTS_MAX_AGE_SECONDS are
  deleted, then the oldest until the directory holds at most OUTPUTS_MAX_BYTES.

Configuration errors stop it with one line on stderr and exit status 2.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
CAPABILITY = re.compile(r"^/([0-9a-f]{32,64})\.([a-z]{3,4})$")
# Inline <script> elements; one with a src attribute loads its URL instead.
INLINE_SCRIPT = re.compile(rb"<script(\s[^>]*)?>(.*?)</script\s*>", re.I | re.S)
SCRIPT_SRC = re.compile(rb"\bsrc\s*=", re.I)
# HTML larger than this is served with no script allowed (its hashes are not computed).
MAX_HASHED_HTML = 16 * 2**20
CHUNK = 64 * 1024
NOTHING_RUNS = "default-src 'none'; frame-ancestors 'none'; sandbox"
# SVG: inline style attributes and data: images (as matplotlib and Penrose write them).
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    directory: Path
    port: int
    extensions: frozenset[str]
    script_sources: tuple[str, ...]
    max_age_seconds: int
    max_bytes: int
    sweep_seconds: int


def _int(env: Mapping[str, str], name: str, default: int | None, low: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigError(f"{name} is not set")
        return default
    if not raw.isdigit() or int(raw) < low:
        raise ConfigError(f"{name}={raw!r}: must be a whole number of at least {low}")
    return int(raw)


def load_config(env: Mapping[str, str]) -> Config:
    directory = env.get("OUTPUTS_DIR", "").strip()
    if not directory.startswith("/"):
        raise ConfigError(f"OUTPUTS_DIR={directory!r}: must be the absolute path of the outputs volume")
    extensions = frozenset(e.strip() for e in env.get("OUTPUTS_EXTENSIONS", "").split(",") if e.strip())
    unknown = sorted(extensions - set(CONTENT_TYPES))
    if unknown or not extensions:
        raise ConfigError(
            f"OUTPUTS_EXTENSIONS={env.get('OUTPUTS_EXTENSIONS', '')!r}: name some of {', '.join(CONTENT_TYPES)}"
        )
    sources = tuple(env.get("OUTPUTS_SCRIPT_SOURCES", "").split())
    for source in sources:
        if not source.startswith("https://") or any(c in source for c in ";,'\""):
            raise ConfigError(f"OUTPUTS_SCRIPT_SOURCES: {source!r} is not an https script URL")
    return Config(
        directory=Path(directory),
        port=_int(env, "OUTPUTS_PORT", 8090, 1),
        extensions=extensions,
        script_sources=sources,
        max_age_seconds=_int(env, "OUTPUTS_MAX_AGE_SECONDS", None, 60),
        max_bytes=_int(env, "OUTPUTS_MAX_BYTES", None, 1),
        sweep_seconds=_int(env, "OUTPUTS_SWEEP_SECONDS", 60, 1),
    )


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------


def script_hashes(html: bytes) -> list[str]:
    """CSP hash sources of the inline scripts, over their text as the browser's parser
    sees it (it turns CR LF and lone CR into LF before anything else)."""
    out = []
    for attrs, body in INLINE_SCRIPT.findall(html):
        if SCRIPT_SRC.search(attrs or b""):
            continue
        text = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        out.append("'sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode() + "'")
    return sorted(set(out))


def html_policy(html: bytes | None, sources: tuple[str, ...]) -> str:
    """Its own inline scripts and the named script URLs run; nothing else loads or leaves."""
    allowed = [*(script_hashes(html) if html is not None else []), *sources]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + (" ".join(allowed) if allowed else "'none'"),
            "style-src 'unsafe-inline'",
            "img-src data: blob:",
            "font-src data:",
            "connect-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "sandbox allow-scripts",
        ]
    )


def headers_for(extension: str, size: int, html: bytes | None, sources: tuple[str, ...]) -> dict[str, str]:
    if extension == "html":
        policy = html_policy(html, sources)
    elif extension == "svg":
        policy = SVG_POLICY
    else:
        policy = NOTHING_RUNS
    return {
        "Content-Type": CONTENT_TYPES[extension],
        "Content-Length": str(size),
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
        # The name is a capability: no shared cache keeps it.
        "Cache-Control": "private, max-age=300",
    }


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def open_output(directory: Path, name: str) -> tuple[int, os.stat_result] | None:
    """(fd, stat) of a regular file named `name` directly in `directory`; None otherwise.
    O_NOFOLLOW refuses a symlink, O_NONBLOCK a FIFO that would block the open."""
    try:
        fd = os.open(directory / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None
    return fd, info


def sweep(directory: Path, max_age_seconds: int, max_bytes: int, now: float | None = None) -> list[Path]:
    """Delete what is older than the age limit, then the oldest files until the rest fit
    `max_bytes`. Everything under the directory counts (a script may write elsewhere in
    it); symlinks are removed, never followed. Returns what was deleted."""
    now = time.time() if now is None else now
    files: list[tuple[float, int, Path]] = []
    deleted: list[Path] = []
    # A directory's age as found: deleting a file inside it makes it look new.
    dir_mtimes = {Path(root) / d: _mtime(Path(root) / d) for root, dirs, _ in os.walk(directory) for d in dirs}
    for root, dirs, names in os.walk(directory, topdown=False):
        for name in names:
            path = Path(root) / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if now - info.st_mtime > max_age_seconds:
                _remove(path, deleted)
            elif stat.S_ISREG(info.st_mode):
                files.append((info.st_mtime, info.st_size, path))
        for name in dirs:
            path = Path(root) / name
            try:
                old = now - dir_mtimes.get(path, now) > max_age_seconds
                if old and (path.is_symlink() or not any(path.iterdir())):
                    path.unlink() if path.is_symlink() else path.rmdir()
                    deleted.append(path)
            except OSError:
                continue
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= max_bytes:
            break
        if _remove(path, deleted):
            total -= size
    return deleted


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return time.time()


def _remove(path: Path, deleted: list[Path]) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        print(f"outputs: cannot delete {path.name}: {exc.strerror}", file=sys.stderr)
        return False
    deleted.append(path)
    return True


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


def make_handler(config: Config) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # a client that stops sending frees its thread

        def version_string(self) -> str:
            return "outputs"

        def log_message(self, format: str, *args: object) -> None:
            # Never the name: it is a capability, and logs are read by others.
            return

        def _plain(self, status: int, text: str, extra: Mapping[str, str] | None = None) -> None:
            body = text.encode()
            self.send_response(status)
            for key, value in {
                "Content-Type": "text/plain; charset=utf-8",
                "Content-Length": str(len(body)),
                "Content-Security-Policy": NOTHING_RUNS,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
                **(extra or {}),
            }.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            print(f"outputs: {self.command} {status}", file=sys.stderr)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/healthz":
                ok = config.directory.is_dir() and os.access(config.directory, os.R_OK | os.X_OK)
                self._plain(200 if ok else 503, "ok\n" if ok else "outputs volume not readable\n")
                return
            match = CAPABILITY.match(path)
            if match is None or match.group(2) not in config.extensions:
                self._plain(404, "not found\n")
                return
            opened = open_output(config.directory, match.group(1) + "." + match.group(2))
            if opened is None:
                self._plain(404, "not found\n")
                return
            fd, info = opened
            with os.fdopen(fd, "rb") as handle:
                extension = match.group(2)
                html = None
                if extension == "html" and info.st_size <= MAX_HASHED_HTML:
                    html = handle.read()
                    handle.seek(0)
                self.send_response(200)
                for key, value in headers_for(extension, info.st_size, html, config.script_sources).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    shutil.copyfileobj(handle, self.wfile, CHUNK)
            print(f"outputs: {self.command} 200 .{extension} {info.st_size} B", file=sys.stderr)

        def do_HEAD(self) -> None:
            self.do_GET()

        def _refuse(self) -> None:
            self._plain(405, "read-only: GET or HEAD\n", {"Allow": "GET, HEAD"})

        def do_POST(self) -> None:
            self._refuse()

        def do_PUT(self) -> None:
            self._refuse()

        def do_DELETE(self) -> None:
            self._refuse()

        def do_PATCH(self) -> None:
            self._refuse()

        def do_OPTIONS(self) -> None:
            self._refuse()

    return Handler


def sweeper(config: Config, stop: threading.Event, sweep_once: Callable[..., list[Path]] = sweep) -> None:
    while not stop.is_set():
        try:
            gone = sweep_once(config.directory, config.max_age_seconds, config.max_bytes)
            if gone:
                print(f"outputs: retention deleted {len(gone)} file(s)", file=sys.stderr)
        except OSError as exc:
            print(f"outputs: retention sweep failed: {exc}", file=sys.stderr)
        stop.wait(config.sweep_seconds)


def build(config: Config, host: str = "0.0.0.0") -> tuple[ThreadingHTTPServer, threading.Event]:
    """The server (not yet serving) and its running retention sweeper, stopped by the event."""
    server = ThreadingHTTPServer((host, config.port), make_handler(config))
    server.daemon_threads = True
    stop = threading.Event()
    threading.Thread(target=sweeper, args=(config, stop), daemon=True).start()
    return server, stop


def main() -> int:
    try:
        config = load_config(os.environ)
    except ConfigError as exc:
        print(f"outputs: {exc}", file=sys.stderr)
        return 2
    server, stop = build(config)
    # SIGTERM (the kubelet stopping the pod): finish the requests in flight, then exit 0.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"outputs: serving {config.directory} on port {server.server_address[1]}", file=sys.stderr)
    server.serve_forever()
    stop.set()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
