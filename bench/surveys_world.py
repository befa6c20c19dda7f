"""The survey bench's world: a site, a touchpoint and its surveys set up through the API,
contacts with linked browsers copied in, and a respondent of its own for each answer."""

import random
import uuid
from collections.abc import Sequence
from typing import Any

from database import TEMPLATE_EMAIL, copy_contact_sql, run_sql
from service import ORIGIN, admin_api, capture_as_page


def build_world(base: str, admin_key: str, surveys: Sequence[str]) -> dict[str, Any]:
    """A site, a touchpoint, these surveys and one captured contact, through the API."""
    with admin_api(base, admin_key) as created:
        site = created("/api/v1/sites", {"name": "Main", "allowed_origins": [ORIGIN]})
        created("/api/v1/assets", {"slug": "guide", "title": "Guide", "kind": "ebook",
                                   "funnel_stage": "convert"})  # fmt: skip
        created("/api/v1/touchpoints", {"slug": "support", "name": "Support", "kind": "channel",
                                        "channel": "support"})  # fmt: skip
        survey = {"touchpoint": "support", "metric": "nps", "question": "How likely?",
                  "comment_prompt": "Why?"}  # fmt: skip
        found = {slug: created("/api/v1/surveys", {"slug": slug, **survey}) for slug in surveys}
    capture_as_page(base, site["public_key"], {"asset": "guide", "email": TEMPLATE_EMAIL})
    return {"site": site, "surveys": found}


async def fill(url: str, contacts: int) -> None:
    """``contacts`` copies of the template contact, each with a linked browser id."""
    await run_sql(
        url,
        copy_contact_sql(contacts),
        "INSERT INTO visitor_identities (kind, external_id, contact_id, linked_at) "
        "SELECT 'anonymous', 'a' || substr(email, 2, strpos(email, '@') - 2), id, now() "
        "FROM contacts WHERE email LIKE 'c%@bench.example'",
        "VACUUM ANALYZE",
        autocommit=True,
    )


def respondents(count: int, contacts: int, seed: int, lowest: int = 0) -> list[dict[str, Any]]:
    """Each answer's own respondent: 40% a known email, 30% a linked browser, 30% a stranger;
    scores from ``lowest`` to 10."""
    rng = random.Random(seed)
    people = rng.sample(range(1, contacts + 1), min(count, contacts))
    mix: list[dict[str, Any]] = []
    for n in range(count):
        roll = rng.random()
        body: dict[str, Any] = {"score": rng.randint(lowest, 10)}
        if roll < 0.7 and n < len(people):
            if roll < 0.4:
                body["email"] = f"c{people[n]}@bench.example"
            else:
                body["visitor_id"] = f"a{people[n]}"
        else:
            body["visitor_id"] = f"stranger-{uuid.uuid4().hex}"
        if rng.random() < 0.3:
            body["comment"] = "The answer came quickly and it was right."
        mix.append(body)
    return mix
