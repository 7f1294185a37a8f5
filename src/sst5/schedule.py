"""Schedules of batch strategies, one per epoch, in a small string form (no torch needed).

    "random"                    random for every epoch
    "stratified:4,random:2"     4 stratified epochs, then 2 random
    "stratified:2,alternate"    2 stratified, then random, stratified, random, ... to the end

A segment is ``strategy[:epochs]``; only the last may leave out its count, and then fills the
remaining epochs. :mod:`sst5.sampling` draws the batches; :mod:`sst5.config` checks a schedule early.
"""

from __future__ import annotations

import re

__all__ = ["STRATEGIES", "parse_schedule"]

STRATEGIES = ("random", "stratified")
_SEGMENT = re.compile(r"^(random|stratified|alternate)(?::([1-9][0-9]*))?$")
_FORM = (
    "comma-separated segments 'strategy[:epochs]' with strategy random, stratified or alternate; "
    "only the last segment may omit its epoch count (it then fills the remaining epochs), "
    "e.g. 'random', 'stratified:4,random:2', 'stratified:2,alternate'"
)


def parse_schedule(schedule: str, epochs: int) -> list[str]:
    """Expand a schedule string into one strategy per epoch.

    Parameters
    ----------
    schedule : str
        See the module docstring for the form.
    epochs : int
        Number of training epochs the schedule must cover exactly.

    Returns
    -------
    list of str
        ``"random"`` or ``"stratified"`` for each epoch.

    Raises
    ------
    ValueError
        The string is malformed or covers more or fewer epochs than ``epochs``; the message shows the
        accepted form.

    Examples
    --------
    >>> parse_schedule("stratified:1,alternate", 4)
    ['stratified', 'random', 'stratified', 'random']
    """
    segments = [part.strip() for part in str(schedule).split(",")]
    plan: list[str] = []
    for position, segment in enumerate(segments):
        match = _SEGMENT.match(segment)
        if not match:
            raise ValueError(f"invalid schedule {schedule!r}: segment {segment!r} is not valid; use {_FORM}")
        strategy, count = match.group(1), match.group(2)
        if count is None and position != len(segments) - 1:
            raise ValueError(f"invalid schedule {schedule!r}: only the last segment may omit its count; {_FORM}")
        n = int(count) if count else epochs - len(plan)
        if strategy == "alternate":
            plan += [STRATEGIES[i % 2] for i in range(n)]
        else:
            plan += [strategy] * n
    if len(plan) != epochs:
        raise ValueError(
            f"schedule {schedule!r} covers {len(plan)} epoch(s) but epochs={epochs}; "
            f"make them agree or end with a segment without a count; {_FORM}"
        )
    return plan
