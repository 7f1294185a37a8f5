"""The device-dependent training arguments and the FLOP count behind the benchmarks' MFU."""

import pytest
from lab.flops import model_flops_utilization, non_embedding_parameters, peak_tflops, training_flops_per_token
from transformers import TrainingArguments

from sst5.config import resolve_config
from sst5.models import load_classifier
from sst5.precision import run_precision
from sst5.provenance import run_provenance
from sst5.training import build_trainer, device_arguments, prepare_splits, tokenize_splits

AVX2_ONLY = frozenset({"avx", "avx2", "fma"})  # e.g. AMD Zen 2/3: bf16 would be emulated
SAPPHIRE_RAPIDS = AVX2_ONLY | {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
ZEN4 = AVX2_ONLY | {"avx512f", "avx512_bf16"}


@pytest.mark.parametrize(
    "capability, flags, expected",
    [
        (None, AVX2_ONLY, {"use_cpu": True}),  # float32: unchanged where bf16 is not native
        (None, ZEN4, {"use_cpu": True, "bf16": True}),
        (None, SAPPHIRE_RAPIDS, {"use_cpu": True, "bf16": True}),
        ((9, 0), AVX2_ONLY, {"use_cpu": False, "tf32": True, "bf16": True}),  # H100
        ((8, 0), AVX2_ONLY, {"use_cpu": False, "tf32": True, "bf16": True}),  # A100
        ((7, 5), SAPPHIRE_RAPIDS, {"use_cpu": False, "tf32": False, "fp16": True}),  # T4: fp16 with a loss scaler
    ],
)
def test_precision_follows_the_device(capability, flags, expected):
    assert device_arguments(resolve_config("gpu"), capability, flags) == expected


def test_mixed_precision_can_be_switched_off():
    assert device_arguments(resolve_config("gpu", mixed_precision=False), (9, 0)) == {"use_cpu": False, "tf32": True}
    assert device_arguments(resolve_config("cpu", mixed_precision=False), None, SAPPHIRE_RAPIDS) == {"use_cpu": True}


def test_the_precision_says_why():
    assert run_precision(True, None, ZEN4).reason == "CPU with native bf16 (avx512_bf16)"
    emulated = run_precision(True, None, AVX2_ONLY)
    assert emulated.name == "float32" and "no avx512_bf16 or amx_bf16" in emulated.reason
    assert run_precision(True, None, SAPPHIRE_RAPIDS).cpu_bf16 and not run_precision(True, (8, 0)).cpu_bf16


@pytest.mark.parametrize("flags, bf16", [(AVX2_ONLY, False), (SAPPHIRE_RAPIDS, True)])
def test_cpu_arguments_build_training_arguments(tmp_path, flags, bf16):
    args = TrainingArguments(output_dir=str(tmp_path), **device_arguments(resolve_config("cpu"), None, flags))
    assert args.use_cpu and args.bf16 == bf16 and not args.fp16


def test_a_run_without_native_bf16_is_unchanged_and_one_with_it_trains_in_bf16(tmp_path, sst_source, monkeypatch):
    """The same tiny run on a simulated AVX2 CPU and on a simulated Sapphire Rapids: the first is float32 bit for
    bit as with mixed precision off; the second autocasts (its weights stay float32) and records why."""
    import torch

    from sst5 import precision

    def train(flags, **params):
        monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
        cfg = resolve_config("smoke", schedule="random", epochs=1, max_sentences=40, tracker="none", progress=False,
                             output_dir=str(tmp_path / f"run-{len(list(tmp_path.iterdir()))}"), **params)
        splits = prepare_splits(cfg, sst_source)
        model, tokenizer = load_classifier(cfg.model_name, sst_source, seed=cfg.seed)
        trainer = build_trainer(cfg, model, tokenizer, tokenize_splits(splits, tokenizer, cfg.max_length))
        trainer.train()
        return trainer, run_provenance({"mixed_precision": cfg.mixed_precision})["precision"]

    plain, plain_precision = train(AVX2_ONLY)
    off, _ = train(AVX2_ONLY, mixed_precision=False)
    assert not plain.args.bf16 and plain_precision["used"] == "float32"
    assert all(torch.equal(a, b) for a, b in zip(plain.model.state_dict().values(), off.model.state_dict().values(),
                                                  strict=True))
    native, native_precision = train(SAPPHIRE_RAPIDS)
    assert native.args.bf16
    assert native_precision == {"used": "bf16", "why": "CPU with native bf16 (avx512_bf16, amx_bf16)"}
    assert all(p.dtype == torch.float32 for p in native.model.parameters())


def test_flop_count_matches_a_hand_count_for_the_tiny_model(tiny_model_dir):
    model, _ = load_classifier(str(tiny_model_dir))
    h, i, layers, labels = 64, 128, 2, 5  # build_tiny_bert's configuration
    per_layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * (2 * h)  # attention, FFN, two LayerNorms
    hand = 2 * h + layers * per_layer + (h * h + h) + (h * labels + labels)  # embeddings' LayerNorm, pooler, head
    assert non_embedding_parameters(model) == hand
    assert training_flops_per_token(model, 20) == 6 * hand + 12 * layers * h * 20
    assert model_flops_utilization(1e6, 3e9, 989.0) == pytest.approx(1e6 * 3e9 / 989e12)
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.0 and peak_tflops("Tesla K80") is None
