"""The README's first-deploy checklist applied, as a fork would apply it, to copies of the
shipped stack files, with values that are not this project's (all made up, all on
reserved example names and documentation addresses).

Each step uses the tool the checklist names: keys are set as `pulumi config set --path`
sets them (mcpds.stackfile, the round-trip writer `seal --write` uses), credentials are
sealed with `python -m mcpds seal --write` under a sealing key made for the run, and
prod's image digests are stored with `python -m mcpds images --write` as the deploy
workflow stores them (MADE-UP digests, offline/made_up_digests.py). Nothing but the
copies of `Pulumi.<stack>.yaml` is written.

    .venv/bin/python -m tests.checklist build/fork          # write the copies
    MCPDS_STACK_DIR=build/fork make test                    # the whole suite on them

tests/test_checklist.py renders and policy-checks the copies in `make test`.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from e2e.pki import self_signed_rsa
from offline.harness import PROJECT, PROJECT_ROOT, read_stack_file

# What a fork of another organisation writes, per checklist step (README "First deploy
# checklist"); none of it is this project's. Keys as `pulumi config set --path` takes them.
DOMAIN = "tools.example.net"
REGISTRY = "registry.example.net/ml-platform/mcp"
SETTINGS: dict[str, dict[str, Any]] = {
    "dev": {
        "domain": f"dev.{DOMAIN}",  # 1. its own subdomain of the fork's zone
        "kubernetes_version": "1.33",  # "Deploy for real": the cluster's minor
        "dns.provider": "cloudflare",  # 2. the other DNS-01 provider the checklist names
        "mcp.servers.datahub.env.DATAHUB_GMS_URL": "https://metadata.example.net/api/gms",  # 3.
        "images.registry": REGISTRY,  # 6.
        "edge.acme_email": "platform-team@example.net",  # 7.
    },
    "prod": {
        "domain": DOMAIN,  # 1.
        "mcp.servers.datahub.env.DATAHUB_GMS_URL": "https://metadata.example.net/api/gms",  # 3.
        "mcp.oidc.issuer": "https://login.example.net/oauth2/ml-tools",  # 4.
        "mcp.oidc.audience": "api://ml-tools",
        "network.api_server_cidrs": ["10.20.0.10/32", "10.20.0.11/32"],  # 5.
        "images.registry": REGISTRY,  # 6.
        "images.pull_secret": "ml-platform-registry",
        "edge.acme_email": "platform-team@example.net",  # 7.
        "edge.allowed_cidrs": ["198.51.100.0/24"],
    },
}
# 2. (and 7.) The credentials each copy gets sealed, by credential id.
SEALED: dict[str, tuple[str, ...]] = {
    "dev": ("cloudflare-api-token",),
    "prod": ("godaddy-api-key", "alertmanager-config"),
}
STACKS = tuple(SETTINGS)


def config_set(path: Path, dotted: str, value: Any) -> None:
    """`pulumi config set --path '<dotted>' <value>` on a stack file (a list is set whole)."""
    from mcpds.stackfile import atomic_write, load_stack

    yaml, document, config = load_stack(path)
    top, *rest = dotted.split(".")
    key = f"{PROJECT}:{top}"
    if not rest:
        config[key] = value
    else:
        node = config.setdefault(key, {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value
    atomic_write(path, yaml, document)


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(text.encode()))
    try:
        yield
    finally:
        sys.stdin = saved


def mcpds(*argv: str, stdin: str = "") -> str:
    """`python -m mcpds ...` in this process; its stdout, or RuntimeError with its error line."""
    from mcpds.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _stdin(stdin), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code != 0:
        raise RuntimeError(f"mcpds {' '.join(argv)} exited {code}: {err.getvalue().strip()}")
    return out.getvalue()


def seal(stack: str, folder: Path, cert: Path, credential: str) -> None:
    """Step 2: every key of `credential`, sealed for the Secret the stack declares for it."""
    from mcpds.seal import declared_credentials

    spec = (declared_credentials(read_stack_file(stack, folder), stack) or {})[credential]
    for key in spec.keys:
        os.environ["CHECKLIST_SEAL_VALUE"] = f"made-up {credential} {key} for the checklist test"
        try:
            mcpds(
                "seal", "--cert", str(cert), "--namespace", spec.namespace, "--name", spec.secret_name,
                "--key", key, "--id", credential, "--from-env", "CHECKLIST_SEAL_VALUE",
                "--stack", stack, "--write", "--project-dir", str(folder),
            )  # fmt: skip
        finally:
            del os.environ["CHECKLIST_SEAL_VALUE"]


def store_digests(stack: str, folder: Path) -> int:
    """Step 6, prod: what the deploy's resolve-digests does, with MADE-UP digests in
    place of the registry's answers. Returns how many were stored."""
    from offline.made_up_digests import made_up_digest

    refs = mcpds("images", "--stack", stack, "--project-dir", str(folder)).split()
    mcpds(
        "images", "--stack", stack, "--write", "--project-dir", str(folder),
        stdin="".join(f"{ref} {made_up_digest(ref)}\n" for ref in refs),
    )  # fmt: skip
    return len(refs)


def apply_checklist(folder: Path, source: Path = PROJECT_ROOT) -> dict[str, Path]:
    """Copy the shipped stack files from `source` into `folder` and follow the checklist
    on each; returns stack -> copied file."""
    folder.mkdir(parents=True, exist_ok=True)
    # A sealing key made for this run (the checklist's bring-your-own key), removed after.
    sealing = self_signed_rsa(folder, "checklist-sealing", "checklist test key, not a real one", "sealed-secret")
    files = {}
    for stack, settings in SETTINGS.items():
        path = folder / f"Pulumi.{stack}.yaml"
        shutil.copy(source / path.name, path)
        for dotted, value in settings.items():
            config_set(path, dotted, value)
        for credential in SEALED[stack]:
            seal(stack, folder, sealing.cert, credential)
        if stack == "prod":
            store_digests(stack, folder)
        files[stack] = path
    sealing.cert.unlink()
    sealing.key.unlink()
    return files


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.checklist DIR  (writes the checklist-applied Pulumi.<stack>.yaml copies)")
        return 2
    for stack, path in apply_checklist(Path(argv[0])).items():
        print(f"{stack}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
