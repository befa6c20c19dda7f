"""Pages rendered on the server (the dashboard, the survey link's form): their templates, and
the headers every one is sent with.

A page loads nothing from elsewhere and runs no script; its Content-Security-Policy says so,
and nothing of it is cached.
"""

from collections.abc import Mapping

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Controller, MediaType, Response

# Nothing but the page itself and its inline styles.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class PageController(Controller):
    """A controller of pages for people to read, outside the API's contract."""

    include_in_schema = False


def page_templates(package: str) -> Environment:
    """The Jinja templates in ``package``'s `templates` folder, everything shown escaped."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html_page(html: str, *, status: int, headers: Mapping[str, str] | None = None) -> Response[str]:
    """A rendered page, with the policy, no caching, and any further ``headers``."""
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-store", **(headers or {})},
    )
