"""A model card pushed to repo X must name X: its usage snippet loads X and its model-index is X.

A folder's card is rendered once (`nerkit card`, maybe without `--repo-id`), and may then be
pushed anywhere. Before a push, `card_for_repo` reads which model the card names; when that is
not the target repo, it re-renders the card for the target from the run folder, but only after
checking that re-rendering the card for the id it already names gives back the card on disk byte
for byte (so the options are recovered exactly and no hand edit is lost). Otherwise the push is
refused with the exact `nerkit card` command that renders the card for the target.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from nercore import runfolder
from nercore.errors import UserError

SNIPPET_MODEL = re.compile(r'pipeline\("token-classification", model="(?P<model>[^"]+)"')
FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*(\n|$)", re.S)
WIDGET_TITLE = re.compile(r"Example \d+")  # the title the card gives to --widget-text sentences


@dataclass(frozen=True)
class CardTarget:
    """Which model a card names, and the `nerkit card` options it was rendered with (from its metadata)."""

    snippet: str | None  # the model the usage snippet loads
    index_name: str | None  # model-index[0].name
    options: dict

    def names(self, repo_id: str) -> bool:
        """True when nothing in the card points at another model than `repo_id`."""
        return self.snippet in (None, repo_id) and self.index_name in (None, repo_id)

    @property
    def rendered_for(self) -> str | None:
        """The repo id the card was rendered for; None: rendered without one (it names the folder)."""
        named = self.snippet or self.index_name or ""
        return named if "/" in named else None


def read_card_target(text: str) -> CardTarget | None:
    """What the card names; None when its metadata does not parse (the folder check reports that)."""
    import yaml

    match = FRONT_MATTER.match(text)
    try:
        meta = (yaml.safe_load(match.group(1)) if match else {}) or {}
    except yaml.YAMLError:
        return None
    if not isinstance(meta, dict):
        return None
    snippet = SNIPPET_MODEL.search(text)
    index = meta.get("model-index")
    name = index[0].get("name") if isinstance(index, list) and index and isinstance(index[0], dict) else None
    widget = meta.get("widget") if isinstance(meta.get("widget"), list) else []
    texts = [w.get("text") for w in widget if isinstance(w, dict)]
    user_texts = bool(texts) and all(WIDGET_TITLE.fullmatch(str(w.get("example_title"))) for w in widget)
    options = {
        "language": meta.get("language"),
        "license": meta.get("license"),
        "base_model": meta.get("base_model"),
        "widget_texts": texts if user_texts else None,
    }
    return CardTarget(snippet.group("model") if snippet else None, str(name) if name else None, options)


def card_command(output_dir: str | Path, repo_id: str, options: dict) -> str:
    """The `nerkit card` command line that renders this folder's card for `repo_id` with the same options."""
    words = ["nerkit", "card", str(output_dir), "--repo-id", repo_id]
    language = options.get("language")
    if language and language not in ("en", ["en"]):
        words += ["--language", language if isinstance(language, str) else ",".join(language)]
    for flag, key in (("--license", "license"), ("--base-model", "base_model")):
        if options.get(key):
            words += [flag, str(options[key])]
    for text in options.get("widget_texts") or []:
        words += ["--widget-text", text]
    return shlex.join(words)


@contextlib.contextmanager
def _quiet_card_warnings():
    """The card's warnings were shown when it was first rendered; re-rendering it does not repeat them."""
    logger = logging.getLogger("toolkit")

    def keep(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("card: ")

    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def card_for_repo(output_dir: str | Path, repo_id: str) -> tuple[bytes, str] | None:
    """(README.md re-rendered for `repo_id`, a note saying so), or None when the card already names it.

    Raises `UserError` with the `nerkit card` command to run when the card names another model and
    cannot be re-rendered faithfully (no eval_results.json, or a card that differs from a fresh render).
    """
    root = Path(output_dir)
    readme = root / runfolder.CARD
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8", errors="replace")
    target = read_card_target(text)
    if target is None or target.names(repo_id):
        return None
    was = f"rendered for {target.rendered_for}" if target.rendered_for else \
        f"rendered without --repo-id, so it names the model {target.snippet or target.index_name!r}"
    command = card_command(output_dir, repo_id, target.options)
    why = _cannot_rerender(root, text, target)
    if why:
        raise UserError(
            f"{readme} was {was}, not {repo_id}: pushed as it is, its usage snippet and model-index would point "
            f"at a model that is not this repo, and {why}. Render the card for {repo_id} first:\n  {command}\n"
            "then run the push again."
        )
    from toolkit.card import CardOptions, build_card

    with _quiet_card_warnings():
        card = str(build_card(root, CardOptions(repo_id=repo_id, **target.options)).card)
    note = (f"README.md: re-rendered for {repo_id} (the card in the folder was {was}); the folder's copy is "
            f"unchanged. To update it: {command}")
    return card.encode("utf-8"), note


def _cannot_rerender(root: Path, text: str, target: CardTarget) -> str | None:
    """Why the card cannot be re-rendered faithfully here, or None."""
    if not (root / runfolder.EVAL_RESULTS).is_file():
        return f"the folder has no {runfolder.EVAL_RESULTS} to re-render it from"
    from toolkit.card import CardOptions, build_card

    try:
        with _quiet_card_warnings():
            again = str(build_card(root, CardOptions(repo_id=target.rendered_for, **target.options)).card)
    except UserError as err:
        return f"re-rendering it failed ({err})"
    if again != text:
        return ("it differs from what `nerkit card` renders from this folder now (edited by hand, rendered by "
                "another nerkit version, or the folder changed since), so nerkit will not re-render it for you")
    return None
