"""Daily roll-ups of what the journey report counts, kept exact under change.

A day (UTC) is *rolled* when the worker has counted its contacts and answers into the day
tables and nothing that changes those counts has happened to it since. Every change to a
contact's stage times or persona, or to an answer, of a day that is already over logs the day
in `report_day_changes` (database triggers: no code path can forget it). The worker rolls a day
again once its changes are logged; a report reads a rolled day from its roll-up and everything
else (today, the edges of a period in another time zone, a day changed since) from the
contacts and answers themselves, in one statement, so that it always sees one state.
"""
