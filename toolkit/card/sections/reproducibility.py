"""Reproducibility: the commands that made the model (paths scrubbed), seed, revision, data fingerprints."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import PurePosixPath

from toolkit.card.context import CardContext
from toolkit.card.fmt import count, is_absolute, md_table, scrub_command
from toolkit.paths import public_paths, short_path
from toolkit.card.sections.data import split_order


def reproducibility(ctx: CardContext) -> str | None:
    info = ctx.run_info or {}
    config = ctx.train_config
    command = info.get("command") or config.get("command")
    if not command:
        ctx.warn("no training command recorded: the card leaves out the reproducibility block.")
        return None
    evaluated = ctx.results.command or ""
    calibrated = (ctx.calibration.command if ctx.calibration is not None else None) or ""
    # The push's rule (toolkit.paths): a card re-rendered from the pushed files reproduces this one.
    commands = [scrub_command(public_paths(c, ctx.folder)[0]) for c in (command, calibrated, evaluated) if c]
    folder = public_paths(config.get("output_dir") or ctx.folder_name, ctx.folder)[0]
    folder = short_path(folder) if is_absolute(folder) else folder
    commands.append(card_command(folder, ctx))
    parts = ["```bash\n" + "\n".join(commands) + "\n```"]
    facts = []
    seed = info.get("seed", config.get("seed"))
    if seed is not None:
        facts.append(f"- **Seed:** {seed}")
    if ctx.base.revision:
        facts.append(f"- **Base model revision:** `{ctx.base.revision}`")
    facts.append("- Local paths: `.` is the run folder; other absolute paths are shortened to `.../<last two parts>`.")
    if facts:
        parts.append("\n".join(facts))
    source = (ctx.data_info or {}).get("source") or ctx.results.dataset or {}
    table = _fingerprints(source)
    if table:
        parts.append(f"Data fingerprints:\n\n{table}")
    else:
        ctx.warn("no data fingerprints recorded; the reproducibility block leaves them out.")
    return "\n\n".join(parts)


def card_command(folder: str, ctx: CardContext) -> str:
    """The `nerkit card` command as run: every option that was given (the language only when not `en`)."""
    options = ctx.options
    words = ["nerkit", "card", folder]
    if ctx.repo_id:
        words += ["--repo-id", ctx.repo_id]
    language = ctx.language
    if language != "en":  # None: given empty, so the card names no language
        words += ["--language", ",".join([language] if isinstance(language, str) else language or [])]
    if ctx.license:
        words += ["--license", ctx.license]
    if options is not None and options.base_model and options.base_model != ctx.base.name:  # else it changes nothing
        words += ["--base-model", options.base_model]
    for text in (options.widget_texts if options is not None else None) or ():
        words += ["--widget-text", text]
    return shlex.join(words)


def _code(value) -> str:
    return f"`{value}`" if value else "—"


def _fingerprints(source: Mapping) -> str | None:
    """Per split: file name, size, SHA-256 and datasets fingerprint; columns nobody recorded are dropped."""
    files = source.get("files") or {}
    prints = source.get("fingerprints") or {}
    splits = split_order(set(files) | set(prints))
    if not splits:
        return None
    rows = []
    for s in splits:
        f = files.get(s) or {}
        name = PurePosixPath(str(f["path"]).replace("\\", "/")).name if f.get("path") else None
        size = count(f["bytes"]) if isinstance(f.get("bytes"), int) else "—"
        rows.append([s, _code(name), size, _code(f.get("sha256")), _code(prints.get(s))])
    headers = ["Split", "File", "Bytes", "SHA-256", "datasets fingerprint"]
    keep = [0] + [i for i in range(1, len(headers)) if any(row[i] != "—" for row in rows)]
    rows = [[row[i] for i in keep] for row in rows]
    return md_table([headers[i] for i in keep], rows, numeric={keep.index(2)} if 2 in keep else set())
