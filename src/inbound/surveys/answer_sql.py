"""The statements of one answer, each built and compiled once.

The survey comes from the process's cache (`inbound.surveys.reference`). An answer then
costs two statements on PostgreSQL, each committed on its own: the contact behind the email,
the browser id or the signed link (none when there is nothing to look up), and the claim of the
respondent's window with the answer's insert, in one statement that stores both or neither. A
known contact's negative answer runs that claim in a transaction, after its lead's new version
(`case_opening`), and the same statement also stores the follow-up case and the case's event. A
link's answer also takes its contact's page answers of the window off the contact, in its
transaction. SQLite runs the claim, the insert and the case's rows one after the other, in a
transaction. A refused claim reads when the window began.

On PostgreSQL the statement that stores the answer also sets how its transaction commits
(`INBOUND_SURVEY_ANSWER_COMMIT`): by default without waiting for the WAL flush. A flush now and
then takes a hundred milliseconds or more on a busy disk, and every answer committing meanwhile
waited for it; a database crash can lose only the last moment's answers, each whole or not at
all, with their cases and events.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    String,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from inbound.db import table_of
from inbound.leads.events import EVENT_COLUMNS
from inbound.leads.repository import CONTACTS, LEAD_EVENTS
from inbound.lean_sql import LeanStatement
from inbound.surveys.models import (
    AnswerSource,
    FeedbackCase,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    Touchpoint,
)  # fmt: skip
from inbound.tracking.identity_sql import IDENTITIES

SURVEYS = table_of(Survey)
ANSWERS = table_of(SurveyAnswer)
RESPONDENTS = table_of(SurveyRespondent)
TOUCHPOINTS = table_of(Touchpoint)
CASES = table_of(FeedbackCase)

SURVEY_COLUMNS = (
    SURVEYS.c.id, SURVEYS.c.slug, SURVEYS.c.touchpoint_id, SURVEYS.c.metric,
    SURVEYS.c.scale_min, SURVEYS.c.scale_max, SURVEYS.c.window_days, SURVEYS.c.archived,
    # What a negative answer's case needs, in the same statement: no cost to the others.
    TOUCHPOINTS.c.slug.label("touchpoint_slug"), TOUCHPOINTS.c.sla_hours,
)  # fmt: skip
# The survey with its touchpoint, as an answer reads it (`inbound.surveys.reference`).
SURVEY_FROM = SURVEYS.join(TOUCHPOINTS, TOUCHPOINTS.c.id == SURVEYS.c.touchpoint_id)
_CONTACT_COLUMNS = (CONTACTS.c.id, CONTACTS.c.persona_id, CONTACTS.c.stage)
CLAIM_COLUMNS = ("survey_id", "respondent", "contact_id", "answered_at", "source")
LINK = AnswerSource.LINK.value
PUBLIC = AnswerSource.PUBLIC.value


def _dialect_insert(dialect_name: str, table: Table) -> Any:
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)


def _claim_window(dialect_name: str) -> Any:
    claim = _dialect_insert(dialect_name, RESPONDENTS).values(
        {name: bindparam(name) for name in CLAIM_COLUMNS}
    )
    # Taken over once the respondent's last window has ended, or by a signed link's answer
    # from a page's (whose word for who answered proves nothing). A concurrent answer by the
    # same respondent waits on the row until this transaction ends, then finds it taken.
    return claim.on_conflict_do_update(
        index_elements=["survey_id", "respondent"],
        set_={name: claim.excluded[name] for name in ("contact_id", "answered_at", "source")},
        where=(RESPONDENTS.c.answered_at <= bindparam("window_start"))
        | ((RESPONDENTS.c.source == PUBLIC) & (claim.excluded.source == LINK)),
    ).returning(RESPONDENTS.c.answered_at)


# Run by the answer's insert on PostgreSQL, for the rest of its transaction: `off`, or null
# for the database's own setting.
_COMMIT_MODE = func.set_config(
    "synchronous_commit",
    func.coalesce(
        bindparam("synchronous_commit", type_=String), func.current_setting("synchronous_commit")
    ),
    True,
).label("synchronous_commit")


def _insert_from(
    table: Table, source: Any, prefix: str = "", names: Sequence[str] | None = None
) -> Any:
    """An insert of one row of bound values (named ``prefix`` + the column), made only when
    ``source`` has returned a row; of every column unless ``names`` are given."""
    columns = [table.c[name] for name in names] if names else list(table.columns)
    values = select(*(bindparam(prefix + column.name, type_=column.type) for column in columns))
    return insert(table).from_select(
        [column.name for column in columns], values.select_from(source)
    )


def _claim_and_insert(dialect_name: str) -> Any:
    """PostgreSQL: the claim, and the answer's insert only when the claim returned its row."""
    claimed = _claim_window(dialect_name).cte("claimed")
    return _insert_from(ANSWERS, claimed).returning(ANSWERS.c.id, _COMMIT_MODE)


def _claim_and_insert_with_case(dialect_name: str) -> Any:
    """PostgreSQL: as `_claim_and_insert`, and with the answer its follow-up case (values
    `case_*`) and the case's event (`event_*`): one round trip where four would be."""
    claimed = _claim_window(dialect_name).cte("claimed")
    answer = _insert_from(ANSWERS, claimed).returning(ANSWERS.c.id, _COMMIT_MODE).cte("answer")
    opened = _insert_from(CASES, answer, "case_").cte("opened")
    event = _insert_from(LEAD_EVENTS, answer, "event_", EVENT_COLUMNS).cte("event")
    return select(answer.c.id).add_cte(opened, event)


def _insert_answer(dialect_name: str) -> Any:
    insert_answer = insert(ANSWERS).values(
        {column.name: bindparam(column.name) for column in ANSWERS.columns}
    )
    if dialect_name == "postgresql":
        return insert_answer.returning(_COMMIT_MODE)
    return insert_answer


CONTACT_BY_ID = LeanStatement(
    select(*_CONTACT_COLUMNS).where(CONTACTS.c.id == bindparam("contact_id"))
)
# The contact an email names, else the one a browser id is linked to: one round trip.
_BY_EMAIL = select(*_CONTACT_COLUMNS, literal_column("0").label("rank")).where(
    CONTACTS.c.email == bindparam("email")
)
_BY_VISITOR = (
    select(*_CONTACT_COLUMNS, literal_column("1").label("rank"))
    .join(IDENTITIES, IDENTITIES.c.contact_id == CONTACTS.c.id)
    .where(IDENTITIES.c.kind == "anonymous", IDENTITIES.c.external_id == bindparam("visitor_id"))
)
_NAMED = union_all(_BY_EMAIL, _BY_VISITOR).subquery("named")
CONTACT_OF = LeanStatement(
    select(_NAMED.c.id, _NAMED.c.persona_id, _NAMED.c.stage).order_by(_NAMED.c.rank).limit(1)
)
CLAIM_WINDOW = LeanStatement(_claim_window)
CLAIM_AND_INSERT = LeanStatement(_claim_and_insert)
CLAIM_AND_INSERT_WITH_CASE = LeanStatement(_claim_and_insert_with_case)
# When the respondent's current window began: what a refusal names.
WINDOW_OF = LeanStatement(
    select(RESPONDENTS.c.answered_at).where(
        RESPONDENTS.c.survey_id == bindparam("survey_id"),
        RESPONDENTS.c.respondent == bindparam("respondent"),
    )
)
INSERT_ANSWER = LeanStatement(_insert_answer)
INSERT_CASE = LeanStatement(
    insert(CASES).values({column.name: bindparam(column.name) for column in CASES.columns})
)
# The window a link's answer may take over from a page's, locked until the link's commit.
CLAIM_OF = LeanStatement(
    select(RESPONDENTS.c.answered_at, RESPONDENTS.c.source)
    .where(
        RESPONDENTS.c.survey_id == bindparam("survey_id"),
        RESPONDENTS.c.respondent == bindparam("respondent"),
    )
    .with_for_update()
)
# A contact's own (link) answer: its page answers of the window it takes over, on someone's
# word, are no longer taken as the contact's. They stay in the figures, as answers of nobody
# we know.
DETACH_PAGE_ANSWERS = LeanStatement(
    update(ANSWERS)
    .where(
        ANSWERS.c.contact_id == bindparam("contact"),
        ANSWERS.c.survey_id == bindparam("survey"),
        ANSWERS.c.source == PUBLIC,
        ANSWERS.c.answered_at >= bindparam("since"),
    )
    .values(contact_id=None, persona_id=None, stage=None)
)
