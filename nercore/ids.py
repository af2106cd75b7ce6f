"""What a Hugging Face Hub id looks like: one rule for the toolkit's flags and the Space's typed models.

A name part is a letter or digit, then up to 95 letters, digits, '-', '_' or '.' (96 in all);
'--' and '..' are refused anywhere (the Hub reserves them). A model id may leave out the
namespace (`bert-base-cased`); a repo to create needs one (`alice/bert-conll2003`).
"""

from __future__ import annotations

import re

MAX_NAME = 96
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,%d}" % (MAX_NAME - 1)
REPO_ID_RE = re.compile(rf"^{_NAME}/{_NAME}$")
MODEL_ID_RE = re.compile(rf"^(?:{_NAME}/)?{_NAME}$")
MAX_MODEL_ARGUMENT = 1024  # longest model argument (a Hub id or a local path) looked at before refusing it


def is_model_id(value: object) -> bool:
    """A Hub model id, with or without a namespace."""
    return isinstance(value, str) and bool(MODEL_ID_RE.match(value)) and "--" not in value and ".." not in value


def is_repo_id(value: object) -> bool:
    """NAMESPACE/NAME, as the Hub accepts it for a new repo."""
    return isinstance(value, str) and bool(REPO_ID_RE.match(value)) and "--" not in value and ".." not in value


ID_RULE = (f"letters, digits, '-', '_' or '.', at most {MAX_NAME} characters per part, starting with a letter or "
           "digit, no '--' or '..'")
