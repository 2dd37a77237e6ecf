"""cert-manager's DNS-01 self-check must reach the nameservers it asks.

Before cert-manager tells Let's Encrypt a DNS-01 challenge is ready, it checks that the
TXT record is visible. cert-manager v1.21.1 (pkg/issuer/acme/dns/util/wait.go
checkDNSPropagation, called with useAuthoritative = !dns01-recursive-nameservers-only,
cmd/controller/app/controller.go) asks the zone's authoritative nameservers on port 53
unless `--dns01-recursive-nameservers-only` is set; then it asks only the resolvers of
`--dns01-recursive-nameservers` (`<ip>:<port>`, or `https://...` DNS-over-HTTPS), or the
pod's resolv.conf when none are given. A self-check that never gets an answer leaves
every Certificate not ready, so the destinations are computed from the chart values the
way cert-manager picks them and checked against the cert-manager namespace's policies.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from components.config import ConfigError
from components.edge import CERT_MANAGER_CONTROLLER_LABELS, cert_manager_values, self_check_egress
from components.stack_config import parse_config
from offline.policy_run import stack_config
from tests.conftest import STACKS
from tests.netpol_eval import egress_allowed
from tests.stackconfig import base_config

# Some zone's authoritative nameserver on the internet (an RFC 5737 documentation address:
# public as far as the policies are concerned).
AUTHORITATIVE_NAMESERVER = "198.51.100.53"


def self_check_destinations(values: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(address, port, protocol) the controller's self-check connects to, for these values
    (chart templates/deployment.yaml turns them into the two flags). DNS goes over UDP
    with a TCP retry (wait.go DNSQuery), DoH over TCP."""
    if not values.get("dns01RecursiveNameserversOnly"):
        return [(AUTHORITATIVE_NAMESERVER, 53, "UDP"), (AUTHORITATIVE_NAMESERVER, 53, "TCP")]
    out = []
    for server in filter(None, str(values.get("dns01RecursiveNameservers", "")).split(",")):
        if server.startswith("https://"):
            url = urlsplit(server)
            out.append((str(url.hostname), url.port or 443, "TCP"))
        else:
            address, _, port = server.rpartition(":")
            out += [(address.strip("[]"), int(port), "UDP"), (address.strip("[]"), int(port), "TCP")]
    return out


def _cert_manager_policies(run, namespace: str = "cert-manager") -> list[dict[str, Any]]:
    return [o for o in run.objects() if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == namespace]


@pytest.mark.parametrize("stack", STACKS)
def test_the_self_check_reaches_every_nameserver_it_asks(stack_runs, stack):
    config = stack_config(stack)
    run = stack_runs[stack]
    values = run.release("cert-manager").inputs["values"]
    if config.dns.provider == "http01-only":  # no DNS-01, no self-check of TXT records
        assert "dns01RecursiveNameserversOnly" not in values
        return
    destinations = self_check_destinations(values)
    assert destinations
    policies = _cert_manager_policies(run, config.edge.cert_manager_namespace)
    blocked = [d for d in destinations if not egress_allowed(policies, CERT_MANAGER_CONTROLLER_LABELS, *d)]
    assert not blocked, f"the cert-manager controller cannot reach its DNS-01 self-check nameservers {blocked}"


@pytest.mark.parametrize("provider", ["godaddy", "cloudflare"])
def test_plain_dns_resolvers_are_opened_for_udp_and_tcp_only_to_themselves(run, provider):
    overrides = {"dns.provider": provider, "dns.self_check_nameservers": ["10.0.0.2:53", "[2606:4700::1111]:53"]}
    if provider == "cloudflare":
        overrides["secrets.allow_missing"] = True
    result = run("prod", overrides)
    values = result.release("cert-manager").inputs["values"]
    assert values["dns01RecursiveNameserversOnly"] is True
    assert values["dns01RecursiveNameservers"] == "10.0.0.2:53,[2606:4700::1111]:53"
    policies = _cert_manager_policies(result)
    for destination in self_check_destinations(values):
        assert egress_allowed(policies, CERT_MANAGER_CONTROLLER_LABELS, *destination), destination
    # A private resolver is reachable because it is named, not because private ranges are open.
    assert not egress_allowed(policies, CERT_MANAGER_CONTROLLER_LABELS, "10.0.0.3", 53, "UDP")
    assert not egress_allowed(policies, CERT_MANAGER_CONTROLLER_LABELS, AUTHORITATIVE_NAMESERVER, 53, "UDP")


def test_doh_by_host_name_opens_its_port_to_public_addresses_only():
    config = parse_config(
        {**base_config(), "dns": {"self_check_nameservers": ["https://dns.quad9.net:5053/dns-query"]}}, "prod"
    )
    [rule] = self_check_egress(config)
    assert rule["ports"] == [{"protocol": "TCP", "port": 5053}]
    assert "10.0.0.0/8" in rule["to"][0]["ipBlock"]["except"]


def test_http01_only_sets_no_dns01_flags():
    values = cert_manager_values(
        parse_config({**base_config(), "dns": {"provider": "http01-only"}, "edge": {"wildcard": False}}, "prod")
    )
    assert "dns01RecursiveNameserversOnly" not in values
    assert "dns01RecursiveNameservers" not in values


@pytest.mark.parametrize("bad", ["1.1.1.1", "dns.google:53", "http://1.1.1.1/dns-query", "1.1.1.1:0", "https:///x"])
def test_a_nameserver_cert_manager_would_refuse_is_refused_here(bad):
    with pytest.raises(ConfigError, match=r"dns\.self_check_nameservers\[0\]"):
        parse_config({**base_config(), "dns": {"self_check_nameservers": [bad]}}, "prod")
