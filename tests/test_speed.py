"""The device-dependent training arguments and the FLOP count behind the benchmarks' MFU."""

import pytest
from transformers import TrainingArguments

from sst5.config import resolve_config
from sst5.flops import model_flops_utilization, non_embedding_parameters, peak_tflops, training_flops_per_token
from sst5.models import load_classifier
from sst5.training import device_arguments


@pytest.mark.parametrize(
    "capability, expected",
    [
        (None, {"use_cpu": True}),
        ((9, 0), {"use_cpu": False, "tf32": True, "bf16": True}),  # H100
        ((8, 0), {"use_cpu": False, "tf32": True, "bf16": True}),  # A100
        ((7, 5), {"use_cpu": False, "tf32": False, "fp16": True}),  # T4: no bf16, fp16 with a loss scaler
    ],
)
def test_precision_follows_the_device(capability, expected):
    assert device_arguments(resolve_config("gpu"), capability) == expected


def test_mixed_precision_can_be_switched_off():
    assert device_arguments(resolve_config("gpu", mixed_precision=False), (9, 0)) == {"use_cpu": False, "tf32": True}


def test_cpu_arguments_build_training_arguments(tmp_path):
    args = TrainingArguments(output_dir=str(tmp_path), **device_arguments(resolve_config("cpu"), None))
    assert args.use_cpu and not args.bf16 and not args.fp16


def test_flop_count_matches_a_hand_count_for_the_tiny_model(tiny_model_dir):
    model, _ = load_classifier(str(tiny_model_dir))
    h, i, layers, labels = 64, 128, 2, 5  # build_tiny_bert's configuration
    per_layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * (2 * h)  # attention, FFN, two LayerNorms
    hand = 2 * h + layers * per_layer + (h * h + h) + (h * labels + labels)  # embeddings' LayerNorm, pooler, head
    assert non_embedding_parameters(model) == hand
    assert training_flops_per_token(model, 20) == 6 * hand + 12 * layers * h * 20
    assert model_flops_utilization(1e6, 3e9, 989.0) == pytest.approx(1e6 * 3e9 / 989e12)
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.0 and peak_tflops("Tesla K80") is None
