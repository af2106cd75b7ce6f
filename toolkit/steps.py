"""The toolkit's command for each step the core's neutral messages name.

Why: the core's messages reach Space visitors, who have no command line, so they say what fixes
a problem in neutral words ("export an ONNX model first") and tag the error with the step that
fixes it (`nercore.errors.UserError.step`). The toolkit adds its command where it re-raises such an
error and where the CLI prints one, so a `nerkit` user still reads the exact command to run.
"""

from __future__ import annotations

from nercore.errors import STEPS

COMMANDS = {step: f"nerkit {step}" for step in STEPS}


def step_of(err: BaseException) -> str | None:
    """The step on `err` or on the first error it was raised from (`__cause__`/`__context__`), or None."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        step = getattr(current, "step", None)
        if step in COMMANDS:
            return step
        current = current.__cause__ or current.__context__
    return None


def with_command(message: str, err: BaseException, target: str | None = None) -> str:
    """`message` plus "Run `nerkit <step> TARGET`." when `err` carries a step and the message does not name it yet."""
    step = step_of(err)
    if step is None or f"`{COMMANDS[step]}" in message:
        return message
    command = f"{COMMANDS[step]} {target}" if target else COMMANDS[step]
    return f"{message.rstrip()} Run `{command}`."
