"""The one exception type for mistakes a user can fix.

The CLI turns `UserError` into a one-paragraph message on stderr and exit code 2, with no
traceback; anything else is a bug and keeps its traceback.
"""


STEPS = ("train", "evaluate", "export", "calibrate")  # the steps that write a run folder's files


class UserError(Exception):
    """Bad input or configuration: the message says what was expected, what was found, and the fix.

    The core's fixes are neutral ("export an ONNX model first"): the Space shows them to visitors,
    who have no command line. `step` (one of `STEPS`, or None) names the step that writes what was
    missing or wrong, so the toolkit can add its command (`toolkit.steps.with_command`).
    """

    def __init__(self, *args: object, step: str | None = None) -> None:
        super().__init__(*args)
        if step is not None and step not in STEPS:
            raise ValueError(f"step {step!r}: expected one of {STEPS}")
        self.step = step


class BackendError(UserError, ValueError):
    """A backend cannot be used (`nercore.backends`); the message says what is missing and how to fix it,
    in neutral words (the Space shows it), with `step` set to the step that writes a missing file."""


ECHO_LIMIT = 60


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """A user's value quoted for a message or a log line: one line, at most `limit` characters of it.

    Every echo of a visitor's value goes through here, so a 100 KB strategy name or model id never
    comes back in full (nor fills the log)."""
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:limit] + "…" if len(text) > limit else text)
