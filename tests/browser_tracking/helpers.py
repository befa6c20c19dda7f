"""Pages, consent states and readers of the inbound.js tests."""

import re

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CAMPAIGN = (
    "utm_source=linkedin&utm_medium=paid-social&utm_campaign=spring"
    "&utm_term=finops&utm_content=banner"
)
