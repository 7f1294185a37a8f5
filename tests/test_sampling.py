import dataclasses
from collections import Counter

import numpy as np
import pytest
from transformers import DataCollatorWithPadding, TrainerCallback

from sst5.config import resolve_config
from sst5.models import load_classifier
from sst5.sampling import ScheduledSampler, parse_schedule, random_batches, stratified_batches
from sst5.training import build_trainer, prepare_splits, tokenize_splits


@pytest.mark.parametrize(
    "schedule, epochs, plan",
    [
        ("random", 3, ["random"] * 3),
        ("stratified:4,random:2", 6, ["stratified"] * 4 + ["random"] * 2),
        ("stratified:4,alternate:4", 8, ["stratified"] * 4 + ["random", "stratified"] * 2),
        ("stratified:1,random", 3, ["stratified", "random", "random"]),
    ],
)
def test_parse_schedule(schedule, epochs, plan):
    assert parse_schedule(schedule, epochs) == plan


@pytest.mark.parametrize("bad", ["", "balanced:2", "stratified:0", "random,stratified:1", "stratified:2;random:1"])
def test_invalid_schedule_shows_the_accepted_form(bad):
    with pytest.raises(ValueError, match="strategy\\[:epochs\\]"):
        parse_schedule(bad, 3)


def test_stratified_batches_hold_equal_class_shares():
    labels = np.array([0] * 50 + [1] * 100 + [2] * 500 + [3] * 120 + [4] * 30)
    batches = stratified_batches(labels, batch_size=20, seed=0)
    assert sum(len(b) for b in batches) == len(labels)
    assert len(batches) == len(random_batches(np.ones(len(labels)), 20, np.random.default_rng(0)))
    for batch in batches[:-1]:
        assert sorted(Counter(labels[batch]).values()) == [4] * 5
    # the common class continues where the last stratified epoch stopped: all of it is seen in time
    seen = set()
    for before in range(4):
        seen |= {i for b in stratified_batches(labels, 20, seed=0, stratified_epochs_before=before) for i in b}
    assert seen == set(range(len(labels)))


def test_random_batches_group_lengths_and_cover_every_index():
    lengths = np.random.default_rng(1).integers(1, 60, size=1000)
    batches = random_batches(lengths, 10, np.random.default_rng(2))
    assert sorted(np.concatenate(batches)) == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 10  # grouped: a random batch of 10 spans about 45 tokens


def test_sampler_depends_only_on_seed_and_epoch():
    labels = np.random.default_rng(0).integers(0, 5, 200)
    a = ScheduledSampler(labels, labels + 3, 16, "stratified:1,random:1", 2, seed=3)
    b = ScheduledSampler(labels, labels + 3, 16, "stratified:1,random:1", 2, seed=3)
    b.set_epoch(1)
    b.set_epoch(0)
    assert list(a) == list(b)
    a.set_epoch(1)
    assert a.strategy() == "random" and list(a) != list(b)


def test_samples_per_epoch_is_the_same_for_every_strategy():
    labels = np.array([0] * 50 + [1] * 100 + [2] * 500 + [3] * 120 + [4] * 30)
    sampler = ScheduledSampler(labels, labels + 3, 20, "stratified:2,random:2", 4, seed=0, samples_per_epoch=100)
    assert len(sampler) == 100
    for epoch in range(4):
        batches = sampler.batches(epoch)
        assert [len(b) for b in batches] == [20] * 5
        if sampler.strategy(epoch) == "stratified":
            assert all(sorted(Counter(labels[b]).values()) == [4] * 5 for b in batches)
        else:
            assert len(set(np.concatenate(batches))) == 100  # drawn without replacement
    # consecutive stratified epochs continue each class's stream: the common class is not repeated
    common = [set(i for i in np.concatenate(sampler.batches(e)) if labels[i] == 2) for e in (0, 1)]
    assert len(common[0]) == len(common[1]) == 20 and not common[0] & common[1]
    # more samples than examples: whole shuffled passes, then part of one more
    counts = np.bincount(np.concatenate(random_batches(np.ones(10), 4, np.random.default_rng(0), n_samples=25)))
    assert counts.sum() == 25 and set(counts) == {2, 3}


class _BatchRecorder(DataCollatorWithPadding, TrainerCallback):
    """Pads like the real collator; records the (label, tokens) of every *training* batch, per epoch."""

    def __init__(self, tokenizer):
        super().__init__(tokenizer)
        self.epochs: list[list[list[tuple]]] = []
        self.training = False

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.epochs.append([])
        self.training = True

    def on_epoch_end(self, args, state, control, **kwargs):
        self.training = False

    def __call__(self, features):
        if self.training:
            self.epochs[-1].append([(int(f["labels"]), tuple(f["input_ids"])) for f in features])
        return super().__call__(features)


class _StopAfterFirstEpoch(TrainerCallback):
    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_training_stop = True


def _trainer(cfg, sst_source, stop_after_first_epoch=False):
    model, tokenizer = load_classifier(cfg.model_name, sst_source)
    tokenized = tokenize_splits(prepare_splits(cfg, sst_source), tokenizer, cfg.max_length)
    trainer = build_trainer(cfg, model, tokenizer, tokenized)
    recorder = _BatchRecorder(tokenizer)
    trainer.data_collator = recorder
    trainer.add_callback(recorder)
    if stop_after_first_epoch:
        trainer.add_callback(_StopAfterFirstEpoch())
    return trainer, recorder, tokenized


def test_trainer_draws_samples_per_epoch_from_distinct_phrases(tmp_path, sst_source):
    cfg = resolve_config("smoke", schedule="stratified:1,random:1", epochs=2, batch_size=20, samples_per_epoch=60,
                         train_on="distinct_phrases", output_dir=str(tmp_path), tracker="none", progress=False)
    trainer, recorder, tokenized = _trainer(cfg, sst_source)
    texts = list(tokenized["train"]["text"])
    assert len(set(texts)) == len(texts) > 7 * 300  # each training phrase once, far more than the sentences
    trainer.train()
    assert [len(epoch) for epoch in recorder.epochs] == [3, 3] and trainer.state.global_step == 6
    assert all(len(batch) == 20 for epoch in recorder.epochs for batch in epoch)
    assert all(np.bincount([label for label, _ in b], minlength=5).tolist() == [4] * 5 for b in recorder.epochs[0])


@pytest.mark.slow
def test_schedule_really_switches_inside_one_train_call(tmp_path, sst_source):
    cfg = resolve_config("smoke", schedule="stratified:1,random:1,stratified:1", epochs=3, max_sentences=400,
                         batch_size=20, output_dir=str(tmp_path / "run"), tracker="none", progress=False)
    trainer, recorder, tokenized = _trainer(cfg, sst_source)
    trainer.train()
    labels = np.asarray(tokenized["train"]["labels"])
    data_shares = np.bincount(labels, minlength=5) / len(labels)
    assert len(recorder.epochs) == 3
    for epoch, strategy in enumerate(["stratified", "random", "stratified"]):
        counts = np.array([np.bincount([label for label, _ in b], minlength=5) for b in recorder.epochs[epoch]])
        assert counts.sum() == len(labels) and len(counts) == 20
        if strategy == "stratified":
            assert (counts == 4).all(), f"epoch {epoch + 1}: every batch holds 4 examples of each class"
        else:
            assert np.allclose(counts.sum(axis=0) / counts.sum(), data_shares)  # follows the data's shares
            assert not (counts == 4).all()
    # Resuming after epoch 1 continues the schedule: epochs 2 and 3 receive the very same batches.
    resumed_cfg = dataclasses.replace(cfg, output_dir=str(tmp_path / "resumed"))
    first, _, _ = _trainer(resumed_cfg, sst_source, stop_after_first_epoch=True)
    first.train()
    second, resumed, _ = _trainer(resumed_cfg, sst_source)
    second.train(resume_from_checkpoint=True)
    assert [sorted(b) for epoch in resumed.epochs for b in epoch] == [
        sorted(b) for epoch in recorder.epochs[1:] for b in epoch
    ]
