"""Unit tests of the data, training and reproducibility sections, on hand-made contexts."""

from __future__ import annotations

from card_helpers import make_context
from toolkit.card.sections import data, reproducibility, training

SPLITS = {
    "test": {"sentences": 5, "tokens": 50, "entities": {"PER": 2}},
    "train": {"sentences": 1000, "tokens": 12000, "entities": {"PER": 300, "LOC": 10}},
    "extra": {"sentences": 1, "tokens": 2, "entities": {}},
}


def test_data_section_tables_and_order():
    info = {"splits": SPLITS, "scheme": "IOB2", "source_scheme": "IOB1", "label_column": "ner_tags"}
    text = data.data(make_context(data_info=info))
    assert "- **Dataset:** news" in text and "- **Tag scheme:** IOB2 (converted from IOB1 in the source files)" in text
    assert "| train | 1,000 | 12,000 |" in text
    assert text.index("| train |") < text.index("| test |") < text.index("| extra |")
    assert "| Entity type | train | test | extra |" in text and "| **total** | 310 | 2 | 0 |" in text
    assert "Sentence lengths" not in text  # no length statistics recorded


def test_data_section_warnings():
    ctx = make_context()
    assert data.data(ctx) is None and "data_info.json" in ctx.warnings[-1]
    no_counts = {"splits": {"train": {"sentences": 1, "tokens": 2}}, "scheme": "none"}
    ctx = make_context(data_info=no_counts)
    text = data.data(ctx)
    assert "plain tags (no B-/I- prefixes)" in text and "no entity counts" in ctx.warnings[-1]


def test_licence_and_citation_of_known_data_only():
    ctx = make_context()
    assert data.data_licence(ctx) is None and data.citation(ctx) is None
    assert ctx.warnings == ["no licence note or citation is known for news; add them to the card by hand."]
    conll = make_context(source={"kind": "conll", "name": "/data/conll2003"})
    assert "Reuters" in data.data_licence(conll) and data.citation(conll).startswith("```bibtex\n@inproceedings")


def test_training_facts():
    ctx = make_context(
        model_config={"architectures": ["BertForTokenClassification"], "model_type": "bert", "num_hidden_layers": 2},
        parameters="1.0 M (F32, 4.0 MB on disk)",
        labels={"labels": ["O", "B-PER"]},
        training_args={"config": {"eval_split": "validation"}},
    )
    text = training.training(ctx)
    assert "- **Architecture:** `BertForTokenClassification` (bert, 2 layers)" in text
    assert "- **Parameters:** 1.0 M" in text and "- **Labels (2):** `O`, `B-PER`" in text
    assert "best F1 on the `validation` split" in text


def test_hyperparameters():
    args = {
        "config": {"learning_rate": 5e-05, "batch_size": 8, "gradient_accumulation_steps": 2, "output_dir": "/x",
                   "custom": 1.0, "local": "/home/alice/x", "group_by_length": True},
        "trainer": {"optim": "adamw_torch", "bf16": True},
    }
    text = training.hyperparameters(make_context(training_args=args, run_info={"hardware": {"num_processes": 2}}))
    assert "| Learning rate (peak) | 5e-05 |" in text and "| Effective batch size (all devices) | 32 |" in text
    assert "| `custom` | 1 |" in text and "| Length-grouped batches | yes |" in text
    assert "/home/alice" not in text and "output_dir" not in text
    assert "| Optimizer | adamw_torch |" in text and "| Mixed precision | bf16 |" in text
    ctx = make_context()
    assert training.hyperparameters(ctx) is None and "training_args.json" in ctx.warnings[-1]


def test_training_log_marks_best_epoch():
    log = {"epochs": [{"epoch": 1.0, "step": 10, "eval_f1": 0.5}, {"epoch": 2.0, "step": 20, "eval_f1": 0.6}],
           "best_epoch": 2, "best_value": 0.6}
    text = training.training_log(make_context(training_log=log))
    assert "| 1 | 10 | 50.00 |" in text and "| **2** ✓ | **20** | **60.00** |" in text
    assert "✓ marks the best epoch, 2 (F1 60.00)" in text


def test_hardware_and_versions():
    info = {"hardware": {"device": "cuda", "name": "H100", "num_processes": 2}, "wall_time_s": 3725,
            "versions": {"torch": "2.0", "python": "3.12", "zzz": "1"}}
    ctx = make_context(run_info=info, training_log={"train_runtime_s": 65, "train_tokens_per_s": 1234.4})
    assert training.hardware(ctx) == (
        "- **Hardware:** 2 × H100 (CUDA)\n- **Wall time:** 1 h 02 min for the whole run (1 min 05 s in the "
        "training loop, 1,234 tokens/s)"
    )
    assert training.versions(ctx) == "- Python 3.12\n- PyTorch 2.0\n- zzz 1"
    ctx = make_context(run_info={"seed": 1})
    assert training.versions(ctx) is None and "no framework versions" in ctx.warnings[-1]


def test_reproducibility_scrubs_paths_and_lists_fingerprints():
    run_info = {"command": "nerkit train --dataset /home/alice/data/x --output-dir=/home/alice/runs/r", "seed": 3}
    source = {"files": {"train": {"path": "/home/alice/data/x/train.txt", "bytes": 1000}}, "fingerprints": {"test": "abc"}}
    ctx = make_context(run_info=run_info, data_info={"source": source}, repo_id="alice/r")
    text = reproducibility.reproducibility(ctx)
    assert "/home/alice" not in text
    assert "nerkit train --dataset .../data/x --output-dir=.../runs/r" in text  # toolkit.paths: the push's rule
    assert "nerkit card my-run --repo-id alice/r" in text
    assert "- **Seed:** 3" in text and "`.` is the run folder; other absolute paths are shortened to `.../<last two parts>`" in text
    assert "| train | `train.txt` | 1,000 | — |" in text and "| test | — | — | `abc` |" in text
    assert "SHA-256" not in text  # a column nobody recorded is dropped


def test_reproducibility_needs_a_command():
    ctx = make_context()
    assert reproducibility.reproducibility(ctx) is None and "no training command" in ctx.warnings[-1]
