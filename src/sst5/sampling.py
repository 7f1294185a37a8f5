"""How mini-batches are drawn, epoch by epoch.

Two strategies:

- ``random``: the usual shuffle, with length grouping (batches of similar lengths so that dynamic
  padding wastes little compute);
- ``stratified``: every batch holds the five classes in equal shares. Each class is a shuffled pool
  that is cycled through, so rare classes are repeated and, over consecutive stratified epochs,
  every example of a common class is seen. An epoch has as many examples (and batches) as a random one.

An epoch holds the whole training set, or a fixed number of samples (``samples_per_epoch``) whatever
its strategy: a random epoch then draws that many distinct examples, a stratified one continues each
class's stream. That is how a schedule's comparison fits a CPU's budget without favouring a strategy.

A *schedule* assigns a strategy to each epoch, in a small string form::

    "random"                    random for every epoch
    "stratified:4,random:2"     4 stratified epochs, then 2 random
    "stratified:2,alternate"    2 stratified, then random, stratified, random, ... to the end

A segment is ``strategy[:epochs]``; only the last may leave out its count, and then fills the
remaining epochs. :class:`ScheduledSampler` plugs the schedule into the Hugging Face ``Trainer``: the
training loop calls its ``set_epoch`` at every epoch boundary, so the strategy really switches inside
one ``train()`` call, and a resumed run rebuilds exactly the batches of the epoch it resumes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from torch.utils.data import Sampler

from .schedule import STRATEGIES, parse_schedule

__all__ = [
    "STRATEGIES",
    "parse_schedule",
    "random_batches",
    "stratified_batches",
    "ScheduledSampler",
    "schedule_summary",
]

# Length grouping sorts examples by length inside windows of this many batches.
_MEGABATCH_BATCHES = 50


def random_batches(
    lengths: Sequence[int],
    batch_size: int,
    rng: np.random.Generator,
    group_by_length: bool = True,
    n_samples: int | None = None,
) -> list[np.ndarray]:
    """Shuffle the indices into batches; with ``group_by_length``, similar lengths share a batch.

    Length grouping follows the Hugging Face recipe: shuffle, cut into windows of 50 batches, sort each
    window by length, cut into batches, then shuffle the order of the batches. With ``n_samples``, the
    epoch holds that many examples: a shuffled pass cut short, or several passes when it is larger.
    """
    n = n_samples or len(lengths)
    order = np.concatenate([rng.permutation(len(lengths)) for _ in range(-(-n // len(lengths)))])[:n]
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    lengths = np.asarray(lengths)
    window = batch_size * _MEGABATCH_BATCHES
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _class_stream(pool: np.ndarray, start: int, count: int, seed: int, label: int) -> np.ndarray:
    """Items ``start .. start+count`` of a class's endless stream of reshuffled passes over ``pool``."""
    out = []
    first_pass, position = divmod(start, len(pool))
    k = first_pass
    while sum(len(part) for part in out) < count:
        shuffled = np.random.default_rng([seed, label, k]).permutation(pool)
        take = shuffled[position:]
        out.append(take)
        position, k = 0, k + 1
    return np.concatenate(out)[:count]


def stratified_batches(
    labels: Sequence[int],
    batch_size: int,
    seed: int,
    stratified_epochs_before: int = 0,
    n_samples: int | None = None,
) -> list[np.ndarray]:
    """Batches in which every class present has an equal share (±1 when it does not divide).

    The epoch holds ``n_samples`` examples (default ``len(labels)``, like a random epoch). Each class
    contributes the same number of slots, filled from that class's stream of shuffled passes; the stream
    continues where the previous stratified epoch stopped (``stratified_epochs_before``), so common classes are fully
    seen over consecutive stratified epochs and the result depends only on the arguments.

    Raises
    ------
    ValueError
        ``labels`` is empty.
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("stratified_batches needs at least one labelled example")
    classes = np.unique(labels)
    n, k = n_samples or len(labels), len(classes)
    n_batches = -(-n // batch_size)
    sizes = [batch_size] * (n_batches - 1) + [n - batch_size * (n_batches - 1)]
    # Slots per (batch, class): equal shares, the remainder rotated over classes batch by batch.
    slots = np.zeros((n_batches, k), dtype=int)
    offset = 0
    for b, size in enumerate(sizes):
        base, extra = divmod(size, k)
        slots[b] = base
        slots[b, (offset + np.arange(extra)) % k] += 1
        offset += extra
    per_class = slots.sum(axis=0)
    streams = []
    for c, label in enumerate(classes):
        pool = np.flatnonzero(labels == label)
        start = stratified_epochs_before * int(per_class[c])
        streams.append(_class_stream(pool, start, int(per_class[c]), seed, int(label)))
    cursors = np.zeros(k, dtype=int)
    rng = np.random.default_rng([seed, stratified_epochs_before, 7])
    batches = []
    for b in range(n_batches):
        parts = []
        for c in range(k):
            parts.append(streams[c][cursors[c] : cursors[c] + slots[b, c]])
            cursors[c] += slots[b, c]
        batches.append(rng.permutation(np.concatenate(parts)))
    return batches


class ScheduledSampler(Sampler[int]):
    """A ``Trainer``-ready sampler whose batch strategy follows a per-epoch schedule.

    It yields indices batch after batch, so it must be used with a ``DataLoader`` whose batch size is
    ``batch_size`` (the ``Trainer``'s ``per_device_train_batch_size``). The training loop calls
    :meth:`set_epoch` before each epoch; the order of an epoch depends only on ``seed`` and the epoch
    number, which is what makes resuming from a checkpoint continue the schedule correctly.

    Parameters
    ----------
    labels : sequence of int
        Class of every training example.
    lengths : sequence of int
        Token count of every training example (for length grouping in random epochs).
    batch_size : int
        Examples per batch.
    schedule : str
        Schedule string, see :func:`parse_schedule`.
    epochs : int
        Number of epochs the schedule covers.
    seed : int
        Seed of every shuffle.
    samples_per_epoch : int, optional
        Examples per epoch, whatever the strategy (default: ``len(labels)``).
    """

    def __init__(
        self,
        labels: Sequence[int],
        lengths: Sequence[int],
        batch_size: int,
        schedule: str,
        epochs: int,
        seed: int,
        samples_per_epoch: int | None = None,
    ) -> None:
        if len(labels) != len(lengths):
            raise ValueError(f"labels ({len(labels)}) and lengths ({len(lengths)}) differ in length")
        self.labels = np.asarray(labels)
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.plan = parse_schedule(schedule, epochs)
        self.seed = seed
        self.samples_per_epoch = samples_per_epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches :meth:`__iter__` yields next (called by the Trainer)."""
        self.epoch = int(epoch)

    def strategy(self, epoch: int | None = None) -> str:
        """The strategy of ``epoch`` (default: the current one); past the schedule, its last one."""
        epoch = self.epoch if epoch is None else epoch
        return self.plan[min(epoch, len(self.plan) - 1)]

    def batches(self, epoch: int | None = None) -> list[np.ndarray]:
        """The batches (index arrays) of ``epoch``."""
        epoch = self.epoch if epoch is None else epoch
        if self.strategy(epoch) == "stratified":
            before = sum(self.strategy(e) == "stratified" for e in range(epoch))
            return stratified_batches(self.labels, self.batch_size, self.seed, before, self.samples_per_epoch)
        rng = np.random.default_rng([self.seed, epoch])
        return random_batches(self.lengths, self.batch_size, rng, n_samples=self.samples_per_epoch)

    def __iter__(self) -> Iterator[int]:
        for batch in self.batches():
            yield from (int(i) for i in batch)

    def __len__(self) -> int:
        return self.samples_per_epoch or len(self.labels)


def schedule_summary(sampler: ScheduledSampler, class_names: Sequence[str]) -> pd.DataFrame:
    """Per epoch of ``sampler``: its strategy and each class's mean share of a batch (in %)."""
    rows = []
    for epoch in range(len(sampler.plan)):
        counts = np.array([np.bincount(sampler.labels[b], minlength=len(class_names))
                           for b in sampler.batches(epoch)])
        shares = 100 * counts / counts.sum(axis=1, keepdims=True)
        rows.append([epoch + 1, sampler.strategy(epoch), *shares.mean(axis=0).round(1)])
    return pd.DataFrame(rows, columns=["epoch", "strategy", *class_names]).set_index("epoch")
