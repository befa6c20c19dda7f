"""Text cells that a spreadsheet opening our CSV shows as text, never runs."""

# A cell starting with one of these is a formula to a spreadsheet (OWASP's CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defused(text: str) -> str:
    """``text``, behind a `'` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text
