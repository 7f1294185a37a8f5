"""How much of the hardware a training run uses: model FLOPs per token and model FLOPs utilisation (MFU).

The count is the usual one for transformers (Kaplan et al. 2020; PaLM, appendix B): a training step costs
6 FLOPs per non-embedding parameter per token (forward 2, backward 4), plus the attention scores and their
use, ``12 x layers x hidden x sequence length`` per token. Only real (non-padding) tokens count: padding is
work the hardware does but the model does not need, which is exactly what MFU should expose.
"""

from __future__ import annotations

__all__ = ["PEAK_HALF_PRECISION_TFLOPS", "non_embedding_parameters", "training_flops_per_token",
           "model_flops_utilization", "peak_tflops"]

#: Dense half-precision tensor-core peak of common GPUs, TFLOP/s (vendor figures, without sparsity): bf16 from
#: Ampere on, fp16 on the T4 (Turing has no bf16; the course trains it in fp16).
PEAK_HALF_PRECISION_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "T4": 65.0}


def non_embedding_parameters(model) -> int:
    """Parameters outside the embedding tables (a lookup costs no multiply-adds)."""
    import torch

    embedding = {id(p) for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in embedding)


def training_flops_per_token(model, sequence_length: float) -> float:
    """FLOPs of one training step per token: ``6 N + 12 L H T`` (see the module docstring)."""
    config = model.config
    attention = 12 * config.num_hidden_layers * config.hidden_size * sequence_length
    return 6 * non_embedding_parameters(model) + attention


def model_flops_utilization(tokens_per_second: float, flops_per_token: float, peak_tflops: float) -> float:
    """The share (0..1) of the device's peak that the model's useful FLOPs reach."""
    return tokens_per_second * flops_per_token / (peak_tflops * 1e12)


def peak_tflops(device_name: str) -> float | None:
    """The half-precision peak (the precision the course trains it in) of a GPU named like
    ``NVIDIA H100 80GB HBM3``, or None when unknown."""
    return next((peak for key, peak in PEAK_HALF_PRECISION_TFLOPS.items() if key in device_name), None)
