"""Training objectives beside cross-entropy: the ordinal term that makes far misses cost more.

SST-5's classes are ordered (negative … positive), but cross-entropy treats calling a "positive" review
"negative" as no worse than calling it "somewhat positive". The squared earth mover's distance between the
predicted and the true class distributions (Hou, Yu and Samaras 2016) compares their cumulative distributions, so
probability put ``d`` classes away from the label costs about ``d`` times as much. It is added to cross-entropy
(``ordinal_weight``), not put in its place: alone it learns slowly from a uniform start, and the model keeps its
softmax head, so probabilities, calibration and every metric read it as before.
"""

from __future__ import annotations

__all__ = ["squared_emd", "training_loss"]


def squared_emd(logits, labels):
    """The batch mean of ``sum_k (P(class <= k) - 1[label <= k])²`` over the classes, with ``P`` the softmax of
    ``logits``: 0 for a sure right answer, ``d`` for a sure answer ``d`` classes away."""
    import torch

    predicted = torch.softmax(logits.float(), dim=-1).cumsum(dim=-1)
    classes = torch.arange(logits.shape[-1], device=logits.device)
    true = (labels.unsqueeze(-1) <= classes).float()
    return ((predicted - true) ** 2).sum(dim=-1).mean()


def training_loss(logits, labels, *, label_smoothing: float = 0.0, ordinal_weight: float = 0.0):
    """Cross-entropy (with ``label_smoothing``) plus ``ordinal_weight`` times :func:`squared_emd`, batch means."""
    import torch.nn.functional as F

    loss = F.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)
    return loss + ordinal_weight * squared_emd(logits, labels) if ordinal_weight else loss
