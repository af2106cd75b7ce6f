"""Checks for the identifiers a user types: Hub repo ids, language codes, licence ids.

Each check returns the normalised value or raises a `UserError` that shows an example of a good one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nercore.errors import UserError
from nercore.ids import ID_RULE, is_model_id, is_repo_id

LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?|multilingual|code")
LICENSE_RE = re.compile(r"[a-z0-9][a-z0-9.+\-]*")


def check_repo_id(repo_id: str, flag: str = "--repo-id") -> str:
    """NAMESPACE/NAME, as the Hub accepts it for a new repo."""
    if not is_repo_id(repo_id):
        raise UserError(
            f"{flag}: expected NAMESPACE/NAME (your user or organisation name, a slash, then the name; each part "
            f"{ID_RULE}), got {repo_id!r:.120}. Example: {flag} alice/bert-conll2003"
        )
    return repo_id


def check_model_id(model_id: str, flag: str = "--base-model") -> str:
    """A Hub model id, with or without a namespace (`bert-base-cased`, `google-bert/bert-base-cased`)."""
    if not is_model_id(model_id):
        raise UserError(f"{flag} {model_id!r:.120} must be a Hub model id such as bert-base-cased or "
                        f"google-bert/bert-base-cased ({ID_RULE}).")
    return model_id


def parse_languages(value: str | Iterable[str] | None, flag: str = "--language") -> list[str] | str | None:
    """"en" -> "en"; "en,de" or ["en", "de"] -> ["en", "de"]; empty -> None (the card metadata's shape)."""
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    codes = [code.strip() for code in parts if code and code.strip()]
    for code in codes:
        if not LANGUAGE_RE.fullmatch(code):
            raise UserError(f"{flag} {code!r}: expected an ISO 639 code such as 'en' or 'de' (or 'multilingual').")
    if not codes:
        return None
    return codes[0] if len(codes) == 1 else codes


def check_license(license: str | None, flag: str = "--license") -> str | None:  # noqa: A002 - the Hub's name
    """A Hub licence id in lower case (apache-2.0, mit, cc-by-4.0, other)."""
    if license is not None and not LICENSE_RE.fullmatch(license):
        raise UserError(
            f"{flag} {license!r}: expected a Hub licence id in lower case, e.g. apache-2.0, mit, cc-by-4.0 "
            "or other (https://huggingface.co/docs/hub/repositories-licenses)."
        )
    return license
