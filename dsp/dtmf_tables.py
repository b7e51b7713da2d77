"""The DTMF key state machine as one (state, input) -> (next state, action) table.

States, per channel:

- ``IDLE``: no key.
- ``CANDIDATE(run)``: a key has hit the last ``run`` blocks (1 .. ``KEY_MIN_BLOCKS``,
  saturating); ``CANDIDATE(0, misses)``: it missed the last ``misses`` blocks (fewer than
  ``GAP_BLOCKS``) and may resume.
- ``KEY(misses)``: the key is down and has missed the last ``misses`` blocks.

Inputs, per 5 ms block: ``MISS`` (no key in the block), ``SAME`` (a hit for the channel's
current key), ``OTHER`` (a hit for another key).

Actions: ``START`` (take the block's key as the candidate), ``ANALYSE`` (the candidate has
enough hits: run the tone analysis; on success the detector moves it to ``KEY(0)`` and
reports key-down), ``UP`` (the key has been missing for ``GAP_BLOCKS``: report key-up).

Another key's hits during a key count as misses: the key ends after ``GAP_BLOCKS`` of them
(a pause-less change of key is thus seen once the old key has been gone for 25 ms), so one
stray block can never split a held key in two.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

import numpy as np
import numpy.typing as npt

KEY_MIN_BLOCKS = 7  # 7 hits of 5 ms: a 40 ms tone gives >= 7, a 23 ms tone <= 5
GAP_BLOCKS = 5  # 25 ms without the key ends it: a 10 ms break gives <= 3, 40 ms >= 7


class Input(IntEnum):
    MISS = 0
    SAME = 1
    OTHER = 2


class Action(IntEnum):
    NONE = 0
    START = 1
    ANALYSE = 2
    UP = 3


class State(IntEnum):
    IDLE = 0
    KEY = KEY_MIN_BLOCKS + GAP_BLOCKS  # KEY(0); KEY(g) is KEY + g


def candidate(run: int, misses: int = 0) -> int:
    """State number of CANDIDATE(run) (run 1..KEY_MIN_BLOCKS) or CANDIDATE(0, misses)."""
    return run if run else KEY_MIN_BLOCKS + misses


STATE_COUNT = State.KEY + GAP_BLOCKS
RETRY_BLOCKS = 6  # a candidate that failed the analysis is analysed again 6 hits later
RETRY_STATE = candidate(KEY_MIN_BLOCKS - RETRY_BLOCKS)

Transition = tuple[int, Action]


def _idle(_: int, event: Input) -> Transition:
    if event == Input.MISS:
        return State.IDLE, Action.NONE
    return candidate(1), Action.START


def _candidate(state: int, event: Input) -> Transition:
    run = state if state <= KEY_MIN_BLOCKS else 0
    misses = 0 if run else state - KEY_MIN_BLOCKS
    if event == Input.SAME:
        longer = min(run + 1, KEY_MIN_BLOCKS)
        return candidate(longer), Action.ANALYSE if longer == KEY_MIN_BLOCKS else Action.NONE
    if event == Input.OTHER:
        # the key of a first hit is read from a window that is partly before the tone:
        # a second hit right after it with another key is the same tone, read better
        return candidate(2 if run == 1 else 1), Action.START
    if misses + 1 >= GAP_BLOCKS:
        return State.IDLE, Action.NONE
    return candidate(0, misses + 1), Action.NONE


def _key(state: int, event: Input) -> Transition:
    if event == Input.SAME:
        return State.KEY, Action.NONE
    misses = state - State.KEY + 1
    if misses >= GAP_BLOCKS:
        return State.IDLE, Action.UP
    return State.KEY + misses, Action.NONE


def _handler(state: int) -> Callable[[int, Input], Transition]:
    if state == State.IDLE:
        return _idle
    return _candidate if state < State.KEY else _key


def _build() -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    next_state = np.zeros(STATE_COUNT * len(Input), dtype=np.int8)
    action = np.zeros(STATE_COUNT * len(Input), dtype=np.int8)
    for state in range(STATE_COUNT):
        for event in Input:
            target, act = _handler(state)(state, event)
            next_state[state * len(Input) + event] = target
            action[state * len(Input) + event] = act
    next_state.setflags(write=False)
    action.setflags(write=False)
    return next_state, action


NEXT, ACTION = _build()  # indexed by state * 3 + input
