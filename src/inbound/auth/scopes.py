"""What a key may do."""

from enum import StrEnum


class Scope(StrEnum):
    """A permission carried by an API key."""

    INGEST = "ingest"
    CONTENT_READ = "content:read"
    CONTENT_WRITE = "content:write"
    LEADS_READ = "leads:read"
    LEADS_WRITE = "leads:write"
    REPORTS_READ = "reports:read"
    ADMIN = "admin"


# A write scope lets its holder read what it writes; admin may do everything.
_IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.CONTENT_WRITE: frozenset({Scope.CONTENT_READ}),
    Scope.LEADS_WRITE: frozenset({Scope.LEADS_READ}),
    Scope.ADMIN: frozenset(Scope),
}


def effective_scopes(granted: frozenset[Scope]) -> frozenset[Scope]:
    """The granted scopes plus those they imply."""
    return granted.union(*(_IMPLIED.get(scope, frozenset()) for scope in granted))
