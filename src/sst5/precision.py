"""Which arithmetic a run uses, decided once from the device: the one place for mixed precision.

- GPU: bf16 autocast from Ampere (compute capability 8.0) on; fp16 with the Trainer's loss scaler before
  (Colab's T4); TF32 matmuls from Ampere on.
- CPU: bf16 autocast only where the processor does bf16 arithmetic in hardware (AVX512-BF16: AMD Zen 4,
  Intel Cooper Lake and later; AMX: Intel Sapphire Rapids and later). Elsewhere (AVX2, AVX-512 without BF16,
  ARM) torch emulates bf16, which is slower than float32 (0.06x measured on an AVX2 CPU), so the run stays
  float32 and is unchanged.

The master weights stay float32 in every case (:func:`sst5.models.load_classifier` loads float32); autocast
only runs matrix products in the lower precision. :func:`run_precision` says what a run uses and why; the
run's provenance records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["NATIVE_BF16_FLAGS", "Precision", "cpu_flags", "cpu_model", "cuda_capability",
           "run_precision"]

#: ``/proc/cpuinfo`` flags of bf16 arithmetic in hardware.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
_CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Precision:
    """What a run computes in (``float32``, ``bf16`` or ``fp16`` autocast), why, and the ``TrainingArguments``
    that say so."""

    name: str
    reason: str
    arguments: dict

    @property
    def cpu_bf16(self) -> bool:
        """Whether this is bf16 autocast on a CPU (inference then uses it too)."""
        return self.name == "bf16" and self.arguments.get("use_cpu", False)


def _cpuinfo_field(name: str) -> str:
    try:
        text = _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    return frozenset(_cpuinfo_field("flags").split())


def cpu_model() -> str:
    """This CPU's model name with its bf16 capability, e.g. ``"AMD EPYC 9R14 (native bf16: avx512_bf16)"``."""
    flags = cpu_flags()
    native = [flag for flag in NATIVE_BF16_FLAGS if flag in flags]
    model = _cpuinfo_field("model name") or "unknown CPU"
    return f"{model} ({'native bf16: ' + ', '.join(native) if native else 'no native bf16'})"


def cuda_capability() -> tuple[int, int] | None:
    """This machine's CUDA compute capability, or None without a GPU."""
    import torch

    return torch.cuda.get_device_capability() if torch.cuda.is_available() else None


def run_precision(mixed_precision: bool, capability: tuple[int, int] | None,
                  flags: frozenset[str] | None = None) -> Precision:
    """The precision of a run on a GPU of CUDA compute ``capability`` (None: the CPU, whose ``flags`` default
    to this one's), with ``mixed_precision`` asked for or not."""
    if capability is not None:
        ampere = tuple(capability) >= (8, 0)
        base = {"use_cpu": False, "tf32": ampere}
        if not mixed_precision:
            return Precision("float32", "mixed_precision=False", base)
        if ampere:
            return Precision("bf16", f"GPU of compute capability {capability[0]}.{capability[1]} (Ampere or later)",
                             {**base, "bf16": True})
        return Precision("fp16", f"GPU of compute capability {capability[0]}.{capability[1]}: no bf16, fp16 "
                         "with a loss scaler", {**base, "fp16": True})
    if not mixed_precision:
        return Precision("float32", "mixed_precision=False", {"use_cpu": True})
    flags = cpu_flags() if flags is None else flags
    native = [flag for flag in NATIVE_BF16_FLAGS if flag in flags]
    if native:
        return Precision("bf16", f"CPU with native bf16 ({', '.join(native)})", {"use_cpu": True, "bf16": True})
    return Precision("float32", "CPU without native bf16 (no avx512_bf16 or amx_bf16): emulated bf16 is slower "
                     "than float32", {"use_cpu": True})
