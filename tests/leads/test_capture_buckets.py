"""Rate limits a stranger holding a site's public key cannot turn against the site: only
accepted captures count against the site's bucket, and an IPv6 client is counted per /64."""

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture
from tests.conftest import Headers
from tests.leads.helpers import count_rows
from tests.leads.test_capture_spam import (
    STORES,
    assert_rate_limited,
    client_at,
    unique_address,
)
from tests.support.fixtures import AppMaker
from tests.support.world import capture, make_ebook_world


def unique_ipv6_networks() -> tuple[str, str]:
    """Two neighbouring /64s of the documentation prefix, as their first four groups, that no
    other test or run uses."""
    site, subnet = secrets.randbelow(0xFFFF), secrets.randbelow(0xFFFE)
    return f"2001:db8:{site:x}:{subnet:x}", f"2001:db8:{site:x}:{subnet + 1:x}"


# What a stranger holding the public key can post from many addresses without a real lead.
INVALID_POSTS: list[dict[str, Any]] = [
    {"email": "not-an-email"},
    {"asset": "no-such-asset"},
    {"_hp": "bot"},
    {"_redirect": "https://evil.example/"},
    {"company_size": "many"},
]


class TestSiteBucket:
    @STORES
    async def test_a_flood_of_invalid_posts_from_many_addresses_leaves_real_captures_through(
        self,
        app_with: AppMaker,
        admin: Headers,
        db: AsyncSession,
        redis_url: str | None,
    ) -> None:
        async with app_with(redis_url=redis_url,
            capture_rate_per_ip="100/minute", capture_rate_per_key="3/minute",
        ) as app:  # fmt: skip
            async with client_at(app, unique_address()) as setup:
                world = await make_ebook_world(setup, admin)
            for _ in range(3):
                for changes in INVALID_POSTS:
                    async with client_at(app, unique_address()) as stranger:
                        answer = await capture(stranger, world, **changes)
                        assert answer.status_code != 429, answer.text
            async with client_at(app, unique_address()) as visitor:
                answers = [
                    await capture(visitor, world, email=f"real{i}@example.com") for i in range(4)
                ]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert_rate_limited(answers[-1], 60)
        assert await count_rows(db, Capture) == 3

    async def test_invalid_posts_still_count_against_their_own_address(
        self,
        app_with: AppMaker,
        admin: Headers,
    ) -> None:
        async with app_with(capture_rate_per_ip="3/minute") as app:
            async with client_at(app, unique_address()) as setup:
                world = await make_ebook_world(setup, admin)
            async with client_at(app, unique_address()) as stranger:
                for changes in INVALID_POSTS[:3]:
                    assert (await capture(stranger, world, **changes)).status_code != 429
                assert_rate_limited(await capture(stranger, world), 60)

    @STORES
    async def test_two_addresses_in_one_ipv6_64_share_a_bucket(
        self,
        app_with: AppMaker,
        admin: Headers,
        redis_url: str | None,
    ) -> None:
        network, neighbour = unique_ipv6_networks()
        async with app_with(redis_url=redis_url, capture_rate_per_ip="2/minute") as app:
            async with client_at(app, unique_address()) as setup:
                world = await make_ebook_world(setup, admin)
            async with client_at(app, f"{network}::1") as first:
                assert (await capture(first, world)).status_code == 201
            async with client_at(app, f"{network}:ffff:ffff:ffff:fffe") as second:
                assert (await capture(second, world)).status_code == 201
                assert_rate_limited(await capture(second, world), 60)
            async with client_at(app, f"{neighbour}::1") as next_network:
                assert (await capture(next_network, world)).status_code == 201

    async def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(
        self,
        app_with: AppMaker,
        admin: Headers,
    ) -> None:
        address = unique_address()
        async with app_with(capture_rate_per_ip="1/minute") as app:
            async with client_at(app, unique_address()) as setup:
                world = await make_ebook_world(setup, admin)
            async with client_at(app, address) as plain:
                assert (await capture(plain, world)).status_code == 201
            async with client_at(app, f"::ffff:{address}") as mapped:
                assert_rate_limited(await capture(mapped, world), 60)
