"""The address check behind image_url and client metadata fetches: only ordinary public hosts."""

from __future__ import annotations

import ipaddress

import pytest

from lead_mcp.errors import InvalidInput
from lead_mcp.integrations.web_fetch import fetch_json, is_public

NOT_PUBLIC = [
    "127.0.0.1",
    "10.0.0.1",
    "100.64.0.1",
    "169.254.169.254",
    "::1",
    "::ffff:127.0.0.1",
    "fd00::1",
    "fe80::1",
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 wrapping 169.254.169.254
    "2002:808:808::1",  # 6to4 even around a public IPv4: relays are not ours to choose
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64
    "::ffff:0:7f00:1",  # IPv4-translated
    "::7f00:1",  # IPv4-compatible
    "2001:db8::1",
    "100::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_loopback_private_and_ipv6_transition_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_ordinary_public_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["[2002:7f00:1::]", "[2002:a9fe:a9fe::]", "[64:ff9b::a9fe:a9fe]"])
async def test_a_client_metadata_url_at_a_transition_address_is_refused_before_connecting(host: str) -> None:
    with pytest.raises(InvalidInput, match="non-public address"):
        await fetch_json(f"https://{host}/client.json")
