"""Length-grouped batches served in random order (toolkit/sampling.py), and the Trainer using them."""

from __future__ import annotations

import random

import pytest

from toolkit.sampling import grouped_trainer, shuffled_length_groups


def _batches(indices: list[int], size: int) -> list[list[int]]:
    return [indices[i : i + size] for i in range(0, len(indices), size)]


def _descending_share(indices: list[int], lengths: list[int], size: int) -> float:
    """Share of consecutive batches whose longest sentence is no longer than the previous batch's."""
    tops = [max(lengths[i] for i in batch) for batch in _batches(indices, size)]
    return sum(b <= a for a, b in zip(tops, tops[1:])) / (len(tops) - 1)


@pytest.fixture
def lengths() -> list[int]:
    rng = random.Random(0)
    return [rng.randint(2, 120) for _ in range(1_605)]  # 100 full batches of 16 and a partial one


def test_the_same_grouped_batches_in_random_order(lengths):
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    torch.manual_seed(1)
    grouped = get_length_grouped_indices(lengths, 16)
    torch.manual_seed(1)
    shuffled = shuffled_length_groups(lengths, 16)
    assert sorted(shuffled) == list(range(len(lengths)))
    assert sorted(map(sorted, _batches(shuffled, 16))) == sorted(map(sorted, _batches(grouped, 16)))
    assert max(lengths) in [lengths[i] for i in shuffled[:16]]  # the longest batch still comes first
    assert len(_batches(shuffled, 16)[-1]) == 5  # the partial batch stays last, so every slice is a batch
    # transformers' order walks each mega-batch from its longest batch to its shortest; this one does not
    assert _descending_share(grouped, lengths, 16) > 0.9
    assert _descending_share(shuffled, lengths, 16) < 0.7


def test_a_new_order_every_epoch(lengths):
    sampler_orders = {tuple(shuffled_length_groups(lengths, 16)) for _ in range(3)}
    assert len(sampler_orders) == 3


def test_the_trainer_uses_it_only_for_group_by_length(tiny_bert, tmp_path):
    import datasets
    from transformers import AutoModelForTokenClassification, Trainer, TrainingArguments

    rng = random.Random(0)
    rows = [{"input_ids": [1] * rng.randint(2, 60), "labels": [0]} for _ in range(400)]
    dataset = datasets.Dataset.from_list(rows)
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_bert))
    orders = {}
    for strategy in ("group_by_length", "random"):
        args = TrainingArguments(output_dir=str(tmp_path / strategy), per_device_train_batch_size=8, use_cpu=True,
                                 train_sampling_strategy=strategy, report_to="none")
        sampler = grouped_trainer(Trainer)(model=model, args=args, train_dataset=dataset)._get_train_sampler()
        orders[strategy] = (type(sampler).__name__, list(sampler))
    name, indices = orders["group_by_length"]
    lengths = [len(r["input_ids"]) for r in rows]
    assert name == "ShuffledLengthGroupedSampler" and sorted(indices) == list(range(400))
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in _batches(indices, 8)]
    assert sum(spread) / len(spread) < 12  # grouped: little padding in a batch (random batches: ~45)
    assert _descending_share(indices, lengths, 8) < 0.7
    assert orders["random"][0] == "RandomSampler"
