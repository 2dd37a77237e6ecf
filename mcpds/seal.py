"""`python -m mcpds seal`: encrypt one credential value for the Sealed Secrets controller.

The value comes from stdin (or `--from-env VAR`), never from the command line, where
it would land in shell history and the process table. The output is what `kubeseal`
puts in `spec.encryptedData` (bitnami-labs/sealed-secrets `pkg/crypto/crypto.go`
HybridEncrypt, `pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go`
EncryptionLabel):

- a random 32-byte session key encrypts the value with AES-256-GCM under the all-zero
  12-byte nonce (safe: the key is used once), the 16-byte tag appended;
- RSA-OAEP with SHA-256 (also for MGF1) wraps the session key, with the label
  `<namespace>/<name>` (strict scope), `<namespace>` (namespace-wide) or empty
  (cluster-wide), so the controller refuses to unseal it under another name;
- bytes = uint16 big-endian length of the RSA ciphertext || RSA ciphertext || AES
  ciphertext, then standard base64.

`--stack S --write` stores it in `Pulumi.S.yaml` under
`mcp-datascience:secrets.sealed.ciphertexts.<id>.<key>` (and the scope under
`secrets.sealed.scopes.<id>` when not strict), as `pulumi config set --path` would:
the rest of the file, its key order and comments are kept, and the file is replaced
atomically. Before the value is read it checks, against the stack's own config, that
namespace/name/key are those of the credential's Secret (a value sealed for another
name never opens) and that the scope matches the credential's other keys (one
SealedSecret, one scope).
"""

from __future__ import annotations

import argparse
import base64
import getpass
import os
import re
import sys
from pathlib import Path
from typing import Any

from components.config_errors import not_an_env_name
from mcpds.cli import CliError
from mcpds.stackfile import atomic_write, load_stack, plain_value

PROJECT = "mcp-datascience"
CONFIG_KEY = f"{PROJECT}:secrets"
SCOPES = ("strict", "namespace-wide", "cluster-wide")
SESSION_KEY_BYTES = 32  # crypto.go sessionKeyBytes
GCM_NONCE = bytes(12)  # Go cipher.NewGCM NonceSize() = 12, all zero

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_STACK = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


# ---------------------------------------------------------------------------
# Encryption
# ---------------------------------------------------------------------------


def encryption_label(namespace: str, name: str, scope: str) -> bytes:
    """The RSA-OAEP label the controller uses for this scope (EncryptionLabel)."""
    if scope == "cluster-wide":
        return b""
    if scope == "namespace-wide":
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def load_public_key(pem: bytes, source: str = "the certificate") -> Any:
    """The RSA public key of a PEM certificate (`kubeseal --fetch-cert`) or PEM public key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    fix = "fetch it with `kubeseal --fetch-cert > controller.pem` (or use your bring-your-own key's certificate)"
    if b"-----BEGIN" not in pem:
        raise CliError(f"{source} is not PEM (no -----BEGIN line): {fix}")
    key: Any = None
    try:
        if b"-----BEGIN CERTIFICATE-----" in pem:
            key = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise CliError(f"{source} is not a valid PEM certificate or public key ({exc}): {fix}") from None
    except Exception as exc:  # cryptography raises its own types for unsupported keys
        raise CliError(f"{source} could not be read as a certificate or public key ({exc}): {fix}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CliError(f"{source} holds a key that is not RSA: the controller's keys are RSA, fetch its certificate")
    return key


def seal(public_key: Any, value: bytes, namespace: str, name: str, scope: str = "strict") -> str:
    """The base64 ciphertext of `value` for `namespace/name` under `scope`."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    session_key = os.urandom(SESSION_KEY_BYTES)
    oaep = padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()),
        algorithm=hashes.SHA256(),
        label=encryption_label(namespace, name, scope) or None,
    )
    rsa_ciphertext = public_key.encrypt(session_key, oaep)
    aes_ciphertext = AESGCM(session_key).encrypt(GCM_NONCE, value, None)
    blob = len(rsa_ciphertext).to_bytes(2, "big") + rsa_ciphertext + aes_ciphertext
    return base64.b64encode(blob).decode("ascii")


# ---------------------------------------------------------------------------
# Writing the stack file
# ---------------------------------------------------------------------------


def check_write(path: Path, stack: str, credential: str, args: argparse.Namespace) -> None:
    """Everything `--write` checks, before the value is read: the file loads, the value
    is sealed for the credential's Secret, and its scope matches the credential's."""
    _, _, config = load_stack(path)
    _check_trail(path, config, credential)
    _check_scope(path, config, credential, args.key, args.scope)
    _check_target(path, config, stack, credential, args)


def _check_trail(path: Path, config: Any, credential: str) -> None:
    """Every existing step of `secrets.sealed.ciphertexts.<credential>` is a plain mapping."""
    node: Any = config
    trail = [CONFIG_KEY, "sealed", "ciphertexts", credential]
    for i, part in enumerate(trail):
        child = node.get(part)
        if child is None:
            return
        if not isinstance(child, dict) or "secure" in child:
            where = ".".join(trail[: i + 1])
            raise CliError(f"{path.name}: `{where}` is not a plain mapping; cannot set a key inside it")
        node = child


def write_ciphertext(path: Path, credential: str, key: str, ciphertext: str, scope: str) -> None:
    """Set `secrets.sealed.ciphertexts.<credential>.<key>` (and the scope) in a stack file.

    Atomic: the new text goes to a temporary file beside it, then replaces it, so an
    error at any point leaves the original file as it was.
    """
    from ruamel.yaml.comments import CommentedMap

    yaml, document, config = load_stack(path)
    _check_trail(path, config, credential)
    _check_scope(path, config, credential, key, scope)
    node: Any = config
    for part in (CONFIG_KEY, "sealed", "ciphertexts", credential):
        if node.get(part) is None:
            node[part] = CommentedMap()
        node = node[part]
    node[key] = ciphertext

    sealed = config[CONFIG_KEY]["sealed"]
    scopes = sealed.get("scopes")
    if scope != "strict":
        if scopes is None:
            scopes = sealed["scopes"] = CommentedMap()
        scopes[credential] = scope
    elif isinstance(scopes, dict) and credential in scopes:
        del scopes[credential]  # strict is the default; a stale scope would break unsealing
        if not scopes:
            del sealed["scopes"]

    atomic_write(path, yaml, document)


def declared_credentials(config: Any, stack: str) -> dict[str, Any] | None:
    """credential id -> CredentialSpec the stack's components declare, or None when the
    stack's config does not load (the program reports that itself)."""
    from components.config_errors import ConfigError
    from components.credentials import declared_specs
    from components.plan import build_plan
    from components.stack_config import parse_config

    prefix = f"{PROJECT}:"
    raw, secret_keys = {}, set()
    for full, value in config.items():
        if str(full).startswith(prefix):
            key = str(full).removeprefix(prefix)
            raw[key], secret = plain_value(value)
            if secret:  # Pulumi marks a whole config key secret when any value in it is
                secret_keys.add(key)
    try:
        stack_config = parse_config(raw, stack, frozenset(secret_keys))
        return {spec.id: spec for spec in declared_specs(stack_config, build_plan(stack_config))}
    except (ConfigError, ValueError, TypeError, KeyError):  # the program reports these itself
        return None


def _check_target(path: Path, config: Any, stack: str, credential: str, args: argparse.Namespace) -> None:
    """The value must be sealed for the Secret the credential becomes: the controller
    opens a strict (or namespace-wide) ciphertext only under the namespace/name it was
    sealed for, and a mismatch shows only in the cluster, as a Secret that never appears."""
    declared = declared_credentials(config, stack)
    if declared is None:
        print(f"note: {path.name} does not load as a stack config; the credential's Secret was not checked",
              file=sys.stderr)  # fmt: skip
        return
    spec = declared.get(credential)
    if spec is None:
        known = ", ".join(sorted(declared)) or "none"
        print(f"note: no component of stack {stack} uses credential '{credential}' (it uses: {known})",
              file=sys.stderr)  # fmt: skip
        return
    where = (spec.namespace, spec.secret_name)
    mismatch = (args.namespace, args.name) != where
    if args.scope == "namespace-wide":
        mismatch = args.namespace != spec.namespace
    elif args.scope == "cluster-wide":
        mismatch = False
    if mismatch:
        raise CliError(
            f"credential {credential} is the Secret {spec.namespace}/{spec.secret_name} in stack {stack}, but the "
            f"value would be sealed for {args.namespace}/{args.name}: pass --namespace {spec.namespace} "
            f"--name {spec.secret_name}"
        )
    if args.key not in spec.keys:
        raise CliError(
            f"credential {credential} ({spec.namespace}/{spec.secret_name}) has key(s) {', '.join(spec.keys)}, "
            f"not {args.key!r}: pass --key with one of them"
        )


def _check_scope(path: Path, config: Any, credential: str, key: str, scope: str) -> None:
    """All keys of one credential share its scope: the scope annotation sits on the one
    SealedSecret, and the controller unseals every key with that scope's label."""
    section = config.get(CONFIG_KEY)
    sealed = section.get("sealed") if isinstance(section, dict) else None
    if not isinstance(sealed, dict):
        return
    ciphertexts = sealed.get("ciphertexts")
    others = sorted(k for k in ciphertexts.get(credential) or {} if k != key) if isinstance(ciphertexts, dict) else []
    if not others:
        return
    scopes = sealed.get("scopes")
    current = scopes.get(credential, "strict") if isinstance(scopes, dict) else "strict"
    if current != scope:
        raise CliError(
            f"{path.name}: credential {credential}'s key(s) {', '.join(others)} are sealed with scope {current}, "
            f"one SealedSecret has one scope: seal with --scope {current}, or, to change its scope, "
            f"`pulumi config rm --path 'secrets.sealed.ciphertexts.{credential}'` and seal every key "
            f"with --scope {scope}"
        )


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "seal",
        help="encrypt a credential for the Sealed Secrets controller",
        description="Encrypt one Secret value (read from stdin or --from-env, never from the command line) "
        "for the cluster's Sealed Secrets controller, and print it or write it into Pulumi.<stack>.yaml.",
    )
    parser.add_argument(
        "--cert", required=True, type=Path, metavar="FILE", help="controller certificate (kubeseal --fetch-cert)"
    )
    parser.add_argument("--namespace", required=True, help="namespace of the Secret")
    parser.add_argument("--name", required=True, help="name of the Secret")
    parser.add_argument("--key", required=True, help="key inside the Secret, e.g. token")
    parser.add_argument("--id", dest="credential", help="credential id in config (default: --name)")
    parser.add_argument("--scope", choices=SCOPES, default="strict", help="where it may be unsealed (default strict)")
    parser.add_argument("--from-env", metavar="VAR", help="read the value from this environment variable")
    parser.add_argument(
        "--keep-newline",
        action="store_true",
        help="keep the value's final line ending, \\n or \\r\\n (dropped by default)",
    )
    parser.add_argument("--stack", help="stack whose Pulumi.<stack>.yaml receives the ciphertext (with --write)")
    parser.add_argument("--write", action="store_true", help="write into Pulumi.<stack>.yaml instead of printing")
    parser.add_argument(
        "--project-dir", type=Path, default=Path("."), metavar="DIR", help="where Pulumi.<stack>.yaml is (default .)"
    )
    parser.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> str:
    if not _DNS_LABEL.match(args.namespace):
        raise CliError(
            f"--namespace {args.namespace!r} is not a namespace name (lowercase DNS label, e.g. data-science)"
        )
    if not _DNS_SUBDOMAIN.match(args.name):
        raise CliError(f"--name {args.name!r} is not a Secret name (lowercase DNS subdomain, e.g. hf-token)")
    if not _SECRET_KEY.match(args.key):
        raise CliError(f"--key {args.key!r} is not a Secret key (letters, digits, '-', '_', '.'; e.g. token)")
    credential = args.credential or args.name
    if not _DNS_LABEL.match(credential):
        raise CliError(f"credential id {credential!r} is not a DNS label: pass --id with the id from docs/secrets.md")
    if args.write and not args.stack:
        raise CliError("--write needs --stack (the stack whose Pulumi.<stack>.yaml receives the ciphertext)")
    if args.stack and not args.write:
        raise CliError("--stack is only used with --write: add --write, or drop --stack to print the ciphertext")
    if args.stack and not _STACK.match(args.stack):
        raise CliError(f"--stack {args.stack!r} is not a stack name")
    return credential


def _read_value(args: argparse.Namespace) -> bytes:
    if args.from_env:
        shown = not_an_env_name(args.from_env)
        if shown is not None:
            raise CliError(f"--from-env {shown} is not an environment variable name: pass the NAME of the variable")
        if args.from_env not in os.environ:
            raise CliError(f"environment variable {args.from_env} is not set")
        value = os.environb[args.from_env.encode()]
    elif sys.stdin is not None and sys.stdin.isatty():
        value = getpass.getpass(f"value of {args.namespace}/{args.name} key {args.key} (not echoed): ").encode()
    else:
        value = sys.stdin.buffer.read() if sys.stdin is not None else b""
    if not args.keep_newline:
        # One line ending, as `echo` or an editor leaves it: "\n" or "\r\n", nothing else.
        value = value.removesuffix(b"\r\n") if value.endswith(b"\r\n") else value.removesuffix(b"\n")
    if not value:
        source = f"environment variable {args.from_env}" if args.from_env else "stdin"
        raise CliError(f"the value from {source} is empty: nothing to seal")
    return value


def run(args: argparse.Namespace) -> int:
    credential = _check_args(args)
    try:
        pem = args.cert.read_bytes()
    except FileNotFoundError:
        raise CliError(
            f"--cert {args.cert}: no such file (fetch it with `kubeseal --fetch-cert > {args.cert}`)"
        ) from None
    except OSError as exc:
        raise CliError(f"--cert {args.cert}: {exc.strerror}") from None
    public_key = load_public_key(pem, f"--cert {args.cert}")
    path = args.project_dir / f"Pulumi.{args.stack}.yaml"
    if args.write:
        check_write(path, args.stack, credential, args)  # before anyone types the value
    value = _read_value(args)
    ciphertext = seal(public_key, value, args.namespace, args.name, args.scope)
    if not args.write:
        print(ciphertext)
        return 0
    write_ciphertext(path, credential, args.key, ciphertext, args.scope)
    where = f"{CONFIG_KEY}.sealed.ciphertexts.{credential}.{args.key}"
    print(f"wrote {where} ({args.scope} scope for {args.namespace}/{args.name}) in {path}", file=sys.stderr)
    return 0
