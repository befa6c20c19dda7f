"""The statements of one answer, each built and compiled once.

An answer costs four statements between BEGIN and COMMIT: the survey, the contact behind the
email or browser id (none when neither is given), the claim of the respondent's window, and
the answer itself; a refused claim reads when the window began instead of inserting. A
negative answer of a known contact adds three: its lead's new version, the follow-up case and
the case's event (`case_opening`).
"""

from typing import Any

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from inbound.db import table_of
from inbound.leads.repository import CONTACTS
from inbound.lean_sql import LeanStatement
from inbound.surveys.models import FeedbackCase, Survey, SurveyAnswer, SurveyRespondent, Touchpoint
from inbound.tracking.identity_sql import IDENTITIES

SURVEYS = table_of(Survey)
ANSWERS = table_of(SurveyAnswer)
RESPONDENTS = table_of(SurveyRespondent)
TOUCHPOINTS = table_of(Touchpoint)
CASES = table_of(FeedbackCase)

_SURVEY_COLUMNS = (
    SURVEYS.c.id, SURVEYS.c.slug, SURVEYS.c.touchpoint_id, SURVEYS.c.metric,
    SURVEYS.c.scale_min, SURVEYS.c.scale_max, SURVEYS.c.window_days, SURVEYS.c.archived,
    # What a negative answer's case needs, in the same statement: no cost to the others.
    TOUCHPOINTS.c.slug.label("touchpoint_slug"), TOUCHPOINTS.c.sla_hours,
)  # fmt: skip
_SURVEY_FROM = SURVEYS.join(TOUCHPOINTS, TOUCHPOINTS.c.id == SURVEYS.c.touchpoint_id)
_CONTACT_COLUMNS = (CONTACTS.c.id, CONTACTS.c.persona_id, CONTACTS.c.stage)


def _dialect_insert(dialect_name: str, table: Table) -> Any:
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)


def _claim_window(dialect_name: str) -> Any:
    columns = ("survey_id", "respondent", "contact_id", "answered_at")
    claim = _dialect_insert(dialect_name, RESPONDENTS).values(
        {name: bindparam(name) for name in columns}
    )
    # Taken over only once the respondent's last window has ended. A concurrent answer by the
    # same respondent waits on the row until this transaction ends, then finds it taken.
    return claim.on_conflict_do_update(
        index_elements=["survey_id", "respondent"],
        set_={name: claim.excluded[name] for name in ("contact_id", "answered_at")},
        where=RESPONDENTS.c.answered_at <= bindparam("window_start"),
    ).returning(RESPONDENTS.c.answered_at)


SURVEY_BY_ID = LeanStatement(
    select(*_SURVEY_COLUMNS).select_from(_SURVEY_FROM).where(SURVEYS.c.id == bindparam("ref"))
)
SURVEY_BY_SLUG = LeanStatement(
    select(*_SURVEY_COLUMNS).select_from(_SURVEY_FROM).where(SURVEYS.c.slug == bindparam("ref"))
)
CONTACT_BY_ID = LeanStatement(
    select(*_CONTACT_COLUMNS).where(CONTACTS.c.id == bindparam("contact_id"))
)
CONTACT_BY_EMAIL = LeanStatement(
    select(*_CONTACT_COLUMNS).where(CONTACTS.c.email == bindparam("email"))
)
CONTACT_BY_VISITOR = LeanStatement(
    select(*_CONTACT_COLUMNS)
    .join(IDENTITIES, IDENTITIES.c.contact_id == CONTACTS.c.id)
    .where(IDENTITIES.c.kind == "anonymous", IDENTITIES.c.external_id == bindparam("visitor_id"))
)
CLAIM_WINDOW = LeanStatement(_claim_window)
# When the respondent's current window began: what a refusal names.
WINDOW_OF = LeanStatement(
    select(RESPONDENTS.c.answered_at).where(
        RESPONDENTS.c.survey_id == bindparam("survey_id"),
        RESPONDENTS.c.respondent == bindparam("respondent"),
    )
)
INSERT_ANSWER = LeanStatement(
    insert(ANSWERS).values({column.name: bindparam(column.name) for column in ANSWERS.columns})
)
INSERT_CASE = LeanStatement(
    insert(CASES).values({column.name: bindparam(column.name) for column in CASES.columns})
)
