"""The one exception type for mistakes a user can fix.

The CLI turns `UserError` into a one-paragraph message on stderr and exit code 2, with no
traceback; anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input or configuration: the message says what was expected, what was found, and the fix."""


ECHO_LIMIT = 60


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """A user's value quoted for a message or a log line: one line, at most `limit` characters of it.

    Every echo of a visitor's value goes through here, so a 100 KB strategy name or model id never
    comes back in full (nor fills the log)."""
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:limit] + "…" if len(text) > limit else text)
