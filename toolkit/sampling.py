"""Length-grouped training batches, in random order.

Why: grouping sentences of similar length cuts the padding a batch carries (on CoNLL-2003 about
half of a random batch's tokens are padding). transformers' `LengthGroupedSampler` sorts each
mega-batch of 50 batches by length and serves it in that order, so training walks from the
longest batches to the shortest (headlines, sports tables) fifty times an epoch: the updates are
no longer independent of each other. Here the same batches are formed, then served in random
order (the longest still first, so an out-of-memory error still comes at step one; a partial batch
still last, so the data loader's slices stay aligned with the batches).
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence


def shuffled_length_groups(lengths: Sequence[int], batch_size: int, generator=None) -> list[int]:
    """Indices whose consecutive `batch_size` slices are length-grouped batches in random order."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    indices = get_length_grouped_indices(list(lengths), batch_size, generator=generator)
    batches = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    if len(batches) < 3:
        return indices
    last = batches.pop() if len(batches[-1]) < batch_size else None
    first = batches.pop(0)  # holds the longest sentence (get_length_grouped_indices puts it there)
    order = torch.randperm(len(batches), generator=generator).tolist()
    batches = [first, *(batches[i] for i in order), *([last] if last else [])]
    return [i for batch in batches for i in batch]


def grouped_sampler(lengths: Sequence[int], batch_size: int):
    """A torch `Sampler` over `shuffled_length_groups`; a new order every epoch (torch's global RNG,
    seeded by `set_seed`, as transformers' own samplers do)."""
    from torch.utils.data import Sampler

    class ShuffledLengthGroupedSampler(Sampler):
        def __init__(self):
            self.lengths = list(lengths)

        def __len__(self) -> int:
            return len(self.lengths)

        def __iter__(self) -> Iterator[int]:
            return iter(shuffled_length_groups(self.lengths, batch_size))

    return ShuffledLengthGroupedSampler()


def row_lengths(dataset) -> list[int]:
    """Each row's sub-token count, from the Arrow offsets of `input_ids` (no row's ids become Python lists)."""
    import pyarrow.compute as pc

    if not hasattr(dataset, "with_format"):  # not a datasets.Dataset
        return [len(ids) for ids in dataset["input_ids"]]
    column = dataset.with_format("arrow")["input_ids"]  # the rows in dataset order, selections applied
    return pc.list_value_length(column).to_pylist()


def grouped_trainer(trainer_class: Any) -> Any:
    """`trainer_class` whose "group_by_length" sampling serves its batches in random order."""

    class GroupedTrainer(trainer_class):
        def _get_train_sampler(self, train_dataset=None):
            dataset = self.train_dataset if train_dataset is None else train_dataset
            if self.args.train_sampling_strategy != "group_by_length" or dataset is None or not hasattr(dataset, "__len__"):
                return super()._get_train_sampler(train_dataset)
            lengths = row_lengths(dataset)  # the Trainer dropped the "length" column
            # One group = one optimizer step's sentences on all processes: under torchrun each rank takes its
            # per-device batches of it in turn, so N processes see what one process with N x accumulation sees.
            step = self.args.train_batch_size * self.args.gradient_accumulation_steps * max(1, self.args.world_size)
            return grouped_sampler(lengths, step)

    return GroupedTrainer
