"""What a plain HTML form's text fields hold, read as the API's JSON would carry it."""

# More digits than any number a form here takes, and far below `int()`'s own digit limit.
MAX_DIGITS = 9


def form_integer(text: str) -> int | None:
    """The whole number typed into a field, or None when it is not one: ASCII digits only,
    since `"²".isdigit()` holds but `int("²")` fails."""
    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS:
        return int(value)
    return None
