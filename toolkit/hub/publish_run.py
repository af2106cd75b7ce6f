"""`nerkit publish` as one function: pre-flight, train, evaluate, card, push.

The Hub is checked before training so a bad token fails in seconds. Under torchrun every process
trains; only rank 0 talks to the Hub, evaluates, writes the card and pushes. Hub is the last stage,
so it may call training, evaluation and the card.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from nercore.errors import UserError
from toolkit.hub.model_folder import plan_model_folder
from toolkit.hub.plan import check_dry_run_dir
from toolkit.hub.push import HubOptions, push_plan
from toolkit.card.context import CardOptions  # the card's one options class, checked when made
from toolkit.runtime import process_rank


def publish_model(config, load_data: Callable[[], object], options: HubOptions, card: CardOptions = CardOptions(),
                  *, evaluate_split: str = "test", bootstrap: int = 1000, max_eval_sentences: int | None = None,
                  include_onnx: bool = True) -> int:
    """Train `config` on the data `load_data()` returns, evaluate, render the card, push the folder.

    An `onnx/` folder already in the output folder is pushed too unless `include_onnx` is False.

    The final evaluation scores the first `max_eval_sentences` sentences of the split (all when None)
    with `bootstrap` resamples for the confidence intervals (0: none).
    """
    if bootstrap < 0:
        raise UserError(f"--bootstrap {bootstrap}: expected 0 (no confidence intervals) or a number of resamples, e.g. 1000.")
    if max_eval_sentences is not None and max_eval_sentences < 1:
        raise UserError(f"--max-eval-sentences {max_eval_sentences}: expected a positive number of sentences.")
    if options.dry_run:
        check_dry_run_dir(options.dry_run, output_dir=config.output_dir)
    rank = process_rank()
    session = None
    if rank == 0 and not options.dry_run:  # the token and the namespace first: no local work is wasted on them
        session = options.preflight("model", create=False)

    from toolkit.training import check_output_dir

    data = load_data()  # the local inputs next, before any repo exists: a mistyped --dataset creates nothing
    if evaluate_split not in data.splits and config.eval_split not in data.splits:
        raise UserError(f"--evaluate-split {evaluate_split}: the dataset has no such split (it has: "
                        f"{', '.join(data.splits)}). Pass --evaluate-split.")
    check_output_dir(config)
    _check_base_model(config.model, config.revision)
    if session is not None:
        options.create(session)
        print(f"pre-flight ok: {session.user} can push to {options.repo_id}; training now")
    try:
        return _train_evaluate_push(config, data, options, card, session, rank, evaluate_split=evaluate_split,
                                    bootstrap=bootstrap, max_eval_sentences=max_eval_sentences,
                                    include_onnx=include_onnx)
    except BaseException as err:
        if session is not None and session.created:
            _remove_empty_repo(session, err)
        raise


def _check_base_model(model: str, revision: str | None = None) -> None:
    """The base model's config can be read (a local folder, or a Hub id: one small download)."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(model, revision=revision)
    except Exception as exc:  # OSError (missing, offline), ValueError (unknown architecture)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--model {model!r:.120}: its config cannot be read ({first[:300]}). Pass a Hub model id such "
                        "as bert-base-cased or a folder written by save_pretrained.") from None


def _remove_empty_repo(session, err: BaseException) -> None:
    """The run created the repo and failed before its one commit: delete the empty repo, and say so."""
    try:
        session.api.delete_repo(session.repo_id, repo_type=session.repo_type)
        note = f"nerkit publish: the run failed before pushing, so the empty repo {session.repo_id} it had created was deleted."
    except Exception as exc:  # noqa: BLE001 - the run's own error is the one to raise
        note = (f"nerkit publish: the run failed before pushing and left the empty repo {session.repo_id} it created "
                f"({type(exc).__name__} when deleting it); delete it at "
                f"https://huggingface.co/{session.repo_id}/settings or push to it later with nerkit push.")
    if isinstance(err, UserError) and err.args:
        err.args = (f"{err.args[0]}\n{note}", *err.args[1:])
    else:
        print(note, file=sys.stderr, flush=True)


def _train_evaluate_push(config, data, options, card, session, rank, *, evaluate_split, bootstrap,
                         max_eval_sentences, include_onnx) -> int:
    from toolkit.training import train

    result = train(config, data)
    if rank != 0:
        print(f"nerkit publish: process rank {rank}: training done; rank 0 evaluates and pushes")
        return 0
    output_dir = Path(result.output_dir)
    split = evaluate_split
    if split not in data.splits:  # checked before training: the eval split exists
        print(f"nerkit publish: the dataset has no {split!r} split; the card reports {config.eval_split!r}")
        split = config.eval_split
    evaluate_and_card(output_dir, data, split, config, options.repo_id, card, bootstrap=bootstrap,
                      max_sentences=max_eval_sentences)
    plan = plan_model_folder(output_dir, repo_id=options.repo_id, include_onnx=include_onnx)
    return push_plan(plan, options, session=session)


def evaluate_and_card(output_dir: Path, data, split: str, config, repo_id: str, card: CardOptions,
                      *, bootstrap: int = 1000, max_sentences: int | None = None) -> Path:
    """Score `split` into the run folder, then render the card (README.md) from it; returns its path.

    A model whose headline score is below the card's floor gets a loud warning here and a line on its card.
    """
    from toolkit.card import render_card
    from toolkit.card.facts import below_floor
    from toolkit.evaluate import evaluate_model

    results = evaluate_model(str(output_dir), data, split, output_dir=output_dir, batch_size=config.eval_batch_size,
                             max_length=config.max_length, max_samples=max_sentences, progress=False,
                             strategies="all", bootstrap=bootstrap)
    below = below_floor(results)
    if below:
        bar = "!" * 100
        print(f"{bar}\nnerkit publish: WARNING: this model does not work: its {below}. The card says so in its "
              f"first paragraph. Train longer or on more data before anyone uses it.\n{bar}", file=sys.stderr, flush=True)
    return render_card(output_dir, replace(card, repo_id=repo_id))
