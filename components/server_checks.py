"""Safety checks of one planned MCP server, run by config validation in every environment.

- No literal credential in its `env` or `args`: a value in Pulumi.<stack>.yaml lands in
  git, in the rendered MCPServer and in Pulumi state. Credentials reach servers through
  the SecretsLayer (`secret_env`). What counts as a credential is the policy pack's own
  definition (policies/mcp_policies/credentials.py), so config validation and the pack
  refuse the same things.
- Every upstream URL it calls (`egress_from_env`) is reachable through its egress: the
  internet rule opens public addresses on 443 only (components/netpol.py
  internet_egress), so a private, in-cluster or non-443 upstream needs an `egress_rules`
  entry, and the error names it.
- A server that runs caller-supplied code gets no egress to public addresses.

Each check returns one line per problem and never repeats a value it judged.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from policies.mcp_policies.credentials import literal_credential

if TYPE_CHECKING:  # plan.py imports this module
    from components.config import NetworkConfig
    from components.plan import ServerPlan

INTERNET_PORT = 443  # components/netpol.py internet_egress: public HTTPS only
DEFAULT_PORTS = {"https": 443, "http": 80}
# Names that never resolve on the public internet: cluster Service names (a single label,
# *.svc, *.cluster.local) and special-use or private zones (RFC 6761, 6762, 8375). A
# `<service>.<namespace>` name cannot be told from a public one and is judged as public.
_PRIVATE_SUFFIXES = (".svc", ".cluster.local", ".local", ".internal", ".lan", ".home.arpa", ".corp", ".localhost")


def literal_credentials(server: ServerPlan, key: str) -> list[str]:
    """Env vars and args of the server that hold a credential literally."""
    out = []
    for var, value in sorted(server.env.items()):
        why = literal_credential(var, value)
        if why:
            out.append(
                f"{key}.env.{var}: {why}. A literal credential in the stack file lands in git and in the "
                "MCPServer; remove it (rotate it if it was committed) and provide it through the secrets layer "
                f"(a custom server's secret_env; docs/secrets.md)"
            )
    for i, arg in enumerate(server.spec.args):
        name, _, value = arg.lstrip("-").partition("=")
        why = literal_credential(name, value) if value else literal_credential(f"args[{i}]", arg)
        if why:
            out.append(f"{key}.args[{i}]: {why}; pass credentials through secret_env, never on the command line")
    return out


def _private_name(host: str) -> bool:
    return "." not in host or host.endswith(_PRIVATE_SUFFIXES)


def _covered(server: ServerPlan, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, port: int) -> bool:
    """An egress_rules entry opens `port` (to `address`, when the address is known)."""
    for rule in server.egress_rules:
        if port not in rule.ports:
            continue
        if address is None or address in ipaddress.ip_network(rule.cidr):
            return True
    return False


def unreachable_upstreams(server: ServerPlan, network: NetworkConfig, key: str) -> list[str]:
    """Upstream URLs (egress_from_env) the server's NetworkPolicy would not let it reach."""
    private = [ipaddress.ip_network(c) for c in network.private_cidrs]
    out = []
    for var in server.spec.egress_from_env:
        parsed = urlparse(server.env.get(var, ""))
        host = parsed.hostname
        if not host or parsed.scheme not in DEFAULT_PORTS:
            continue  # not a URL: reported by plan.validate
        try:
            port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        except ValueError:
            continue
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None:
            public = not any(address in n for n in private)
            where = "a public address" if public else "a private address"
        else:
            public = not _private_name(host)
            where = "a public name" if public else "an in-cluster or private name"
        if (public and port == INTERNET_PORT) or _covered(server, address, port):
            continue
        cidr = f"{address}/{address.max_prefixlen}" if address is not None else f"<the addresses behind {host}>"
        out.append(
            f"{key}.env.{var}: {server.name} calls {host}:{port}, {where}, which its egress does not reach (only "
            f"public addresses on {INTERNET_PORT}); add {key}.egress_rules: [{{cidr: {cidr}, ports: [{port}]}}]"
        )
    return out


def public_egress_for_code(server: ServerPlan, network: NetworkConfig, key: str) -> list[str]:
    """A code-executing server's egress to public addresses (egress_hosts, public egress_rules)."""
    if not server.spec.executes_code:
        return []
    private = [ipaddress.ip_network(c) for c in network.private_cidrs]
    out = []
    if server.egress_hosts:
        out.append(
            f"{key}: runs caller-supplied code, so it gets no internet egress, but it calls "
            f"{', '.join(server.egress_hosts)}; drop those hosts or the code tools"
        )
    for rule in server.egress_rules:
        net = ipaddress.ip_network(rule.cidr)
        if not any(net.version == p.version and net.subnet_of(p) for p in private):  # type: ignore[arg-type]
            out.append(
                f"{key}.egress_rules: {rule.cidr} is public, and the server runs caller-supplied code; "
                "only private or in-cluster ranges are allowed for it"
            )
    return out
