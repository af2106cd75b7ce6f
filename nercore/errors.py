"""The one exception type for mistakes a user can fix.

The CLI turns `UserError` into a one-paragraph message on stderr and exit code 2, with no
traceback; anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input or configuration: the message says what was expected, what was found, and the fix."""
