"""The quality levers of issue #32: the ordinal loss, mean pooling and layer-wise learning-rate decay."""

import dataclasses

import pytest
import torch

from sst5.config import resolve_config
from sst5.losses import squared_emd, training_loss
from sst5.models import load_classifier, use_pooling
from sst5.predict import load_run_model
from sst5.training import build_trainer, layer_rate_scales, prepare_splits, tokenize_splits


def _sure(classes: list[int]) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(classes), 5).float() * 30


def test_the_ordinal_term_grows_with_the_distance_of_the_miss():
    labels = torch.zeros(5, dtype=torch.long)
    per_distance = [squared_emd(_sure([d]), labels[:1]).item() for d in range(5)]
    assert per_distance == pytest.approx([0, 1, 2, 3, 4], abs=1e-6)
    # cross-entropy cannot tell a miss by one class from a miss by four; the ordinal loss can
    near, far = _sure([1]) / 10, _sure([4]) / 10
    plain = [training_loss(logits, labels[:1]).item() for logits in (near, far)]
    ordinal = [training_loss(logits, labels[:1], ordinal_weight=1.0).item() for logits in (near, far)]
    assert plain[0] == pytest.approx(plain[1]) and ordinal[1] > ordinal[0] + 2
    logits = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    targets = torch.randint(0, 5, (8,), generator=torch.Generator().manual_seed(1))
    assert training_loss(logits, targets, label_smoothing=0.1).item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1).item())


def _mean_pooled_by_hand(model, batch) -> torch.Tensor:
    """The classifier's logits with the mean of the real tokens' last hidden states in the first token's place."""
    hidden = model.bert(**batch).last_hidden_state  # ``model`` reads the first token: its encoder is untouched
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return model.classifier(model.bert.pooler.dense((hidden * mask).sum(1) / mask.sum(1)).tanh())


def test_mean_pooling_reads_the_mean_of_the_real_tokens_and_survives_saving(tmp_path, tiny_model_dir):
    model, tokenizer = load_classifier(str(tiny_model_dir), seed=3, pooling="mean")
    model.eval()
    texts = ["a gorgeous , witty film", "dull"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
        # padding is left out: "dull" alone gives what it gives beside a longer text
        alone = model(**tokenizer(texts[1:], return_tensors="pt")).logits
    assert torch.allclose(logits[1], alone[0], atol=1e-5)
    stock, _ = load_classifier(str(tiny_model_dir), seed=3)  # the same weights, reading the first token
    stock.eval()
    with torch.no_grad():
        assert torch.allclose(logits, _mean_pooled_by_hand(stock, batch), atol=1e-5)
        assert not torch.allclose(logits, stock(**batch).logits, atol=1e-3)
    model.save_pretrained(tmp_path / "run" / "model")
    tokenizer.save_pretrained(tmp_path / "run" / "model")
    reloaded, _ = load_run_model(tmp_path / "run")
    reloaded.eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(**batch).logits, logits, atol=1e-5)


def test_pooling_refuses_what_it_cannot_do(tiny_model_dir):
    model, _ = load_classifier(str(tiny_model_dir))
    with pytest.raises(ValueError, match="pooling='max': use one of cls, mean"):
        use_pooling(model, "max")
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    distilbert = DistilBertForSequenceClassification(DistilBertConfig(dim=32, hidden_dim=64, n_layers=1, n_heads=2))
    with pytest.raises(ValueError, match="'distilbert' has none: use pooling='cls'"):
        use_pooling(distilbert, "mean")


def test_layer_decay_gives_each_layer_a_share_of_the_rate_below_the_one_above(tmp_path, tiny_model_dir, sst_source):
    model, tokenizer = load_classifier(str(tiny_model_dir))
    n = model.config.num_hidden_layers
    scales = layer_rate_scales(model, 0.5)
    assert scales["classifier.weight"] == scales["bert.pooler.dense.weight"] == 1
    assert scales[f"bert.encoder.layer.{n - 1}.output.dense.weight"] == 0.5
    assert scales["bert.encoder.layer.0.attention.self.query.weight"] == 0.5**n
    assert scales["bert.embeddings.word_embeddings.weight"] == 0.5 ** (n + 1)
    cfg = resolve_config("smoke", max_sentences=50, tracker="none", progress=False, layer_decay=0.5,
                         output_dir=str(tmp_path / "run"))
    tokenized = tokenize_splits(prepare_splits(cfg, sst_source), tokenizer, cfg.max_length)
    optimizer = build_trainer(cfg, model, tokenizer, tokenized).create_optimizer()
    rates = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    for name, parameter in model.named_parameters():
        assert rates[id(parameter)] == pytest.approx(cfg.learning_rate * scales[name]), name
    decays = {group["weight_decay"] for group in optimizer.param_groups}
    assert decays == {0.0, cfg.weight_decay}  # the stock split of weight decay is kept
    stock = build_trainer(dataclasses.replace(cfg, layer_decay=1.0), model, tokenizer, tokenized).create_optimizer()
    assert {group["lr"] for group in stock.param_groups} == {cfg.learning_rate}
    with pytest.raises(ValueError, match="layer_decay < 1 with use_lora=True"):
        build_trainer(dataclasses.replace(cfg, use_lora=True), model, tokenizer, tokenized).create_optimizer()


def test_the_trainer_adds_the_ordinal_term_on_training_batches_only(tmp_path, tiny_model_dir, sst_source):
    model, tokenizer = load_classifier(str(tiny_model_dir))
    cfg = resolve_config("smoke", max_sentences=50, tracker="none", progress=False, ordinal_weight=2.0,
                         output_dir=str(tmp_path / "run"))
    tokenized = tokenize_splits(prepare_splits(cfg, sst_source), tokenizer, cfg.max_length)
    trainer = build_trainer(cfg, model, tokenizer, tokenized)
    batch = next(iter(trainer.get_train_dataloader()))
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        for training in (True, False):
            model.train(training)
            torch.manual_seed(0)  # the same dropout in both forward passes
            logits = model(**inputs).logits
            expected = torch.nn.functional.cross_entropy(logits, batch["labels"])
            if training:  # evaluation keeps the stock loss, the one validation metrics and checkpoints compare
                expected = expected + 2.0 * squared_emd(logits, batch["labels"])
            torch.manual_seed(0)
            assert trainer.compute_loss(model, dict(batch)).item() == pytest.approx(expected.item(), rel=1e-5)
