"""What a form post's `Referer` header tells about the page that sent it.

A plain HTML form, without JavaScript, cannot copy its landing page's `?utm_source=...` into
its fields; but the browser names that page in `Referer`, query string included when the
page's referrer policy allows it.
"""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from inbound.leads.capture.fold import UTM_FIELDS

UTM_LENGTH = 200
PAGE_URL_LENGTH = 2048
# The capture's URL syntax (`inbound.schemas.HttpUrl`): a Referer outside it is not used.
PAGE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\x00-\x20\x7f-\x9f]*)?")


def from_referer(posted: Mapping[str, Any], referer: str | None) -> dict[str, str]:
    """The landing page's UTM parameters and address, for what the post leaves out.

    The post wins: when it carries any `utm_*` field, none comes from the page, so that one
    capture never mixes two campaigns.
    """
    if not referer or len(referer) > PAGE_URL_LENGTH or not PAGE_URL.fullmatch(referer):
        return {}
    found: dict[str, str] = {}
    if not any(_given(posted.get(name)) for name in UTM_FIELDS):
        found.update(_utms(urlsplit(referer).query))
    if not _given(posted.get("page_url")):
        found["page_url"] = referer
    return found


def _utms(query: str) -> dict[str, str]:
    """The first non-blank value of each UTM parameter, cut to what a capture stores."""
    found: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, max_num_fields=100)
    except ValueError:  # more parameters than any landing page has: not worth reading
        return found
    for name, value in pairs:
        text = value.replace("\x00", "").strip()[:UTM_LENGTH]
        if name in UTM_FIELDS and name not in found and text:
            found[name] = text
    return found


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip() == "")
