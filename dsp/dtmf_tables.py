"""The DTMF key state machine as one (state, input) -> (next state, action) table.

States, per channel:

- ``IDLE``: no key.
- ``CANDIDATE(run)``: a key has hit the last ``run`` blocks (1 .. ``KEY_MIN_BLOCKS`` - 1).
- ``PENDING``: the run reached ``KEY_MIN_BLOCKS``; its analysis is scheduled. On success the
  detector moves the channel to ``KEY`` (and reports key-down); on failure back to a short
  candidate (``RETRY_STATE``, analysed again ``RETRY_BLOCKS`` hits later) or, for a run that
  keeps failing, to ``HOLD`` until the run ends.
- ``HOLD``: a long run that is not a key (a sustained note); no more analyses.
- ``GAP(misses)``: the candidate missed the last ``misses`` blocks (fewer than ``GAP_BLOCKS``)
  and may resume.
- ``KEY(misses)``: the key is down and has missed the last ``misses`` blocks.

Inputs, per 5 ms block: ``MISS`` (no key in the block), ``SAME`` (a hit for the channel's
current key), ``OTHER`` (a hit for another key).

Actions: ``START`` (take the block's key as the candidate), ``ANALYSE`` (schedule the tone
analysis of the run ending at this block), ``UP`` (the key has been missing for
``GAP_BLOCKS``: report key-up).

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
RETRY_BLOCKS = 6  # a candidate that failed the analysis is analysed again 6 hits later
HOLD_RUN_BLOCKS = KEY_MIN_BLOCKS + RETRY_BLOCKS  # after the second failure, hold


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
    PENDING = KEY_MIN_BLOCKS
    HOLD = KEY_MIN_BLOCKS + 1
    GAP = KEY_MIN_BLOCKS + 2  # GAP(g) is GAP + g - 1, g = 1 .. GAP_BLOCKS - 1
    KEY = KEY_MIN_BLOCKS + GAP_BLOCKS + 1  # KEY(g) is KEY + g, g = 0 .. GAP_BLOCKS - 1


STATE_COUNT = State.KEY + GAP_BLOCKS
RETRY_STATE = KEY_MIN_BLOCKS - RETRY_BLOCKS  # CANDIDATE(1)

Transition = tuple[int, Action]


def _idle(_: int, event: Input) -> Transition:
    if event == Input.MISS:
        return State.IDLE, Action.NONE
    return 1, Action.START


def _run(state: int, event: Input) -> Transition:
    """CANDIDATE(run), PENDING and HOLD: the key is hitting."""
    if event == Input.SAME:
        if state < KEY_MIN_BLOCKS - 1:
            return state + 1, Action.NONE
        if state == KEY_MIN_BLOCKS - 1:
            return State.PENDING, Action.ANALYSE
        return state, Action.NONE  # PENDING and HOLD stay while the run goes on
    if event == Input.OTHER:
        # the key of a first hit is read from a window that is partly before the tone:
        # a second hit right after it with another key is the same tone, read better
        return (2 if state == 1 else 1), Action.START
    return State.GAP, Action.NONE


def _gap(state: int, event: Input) -> Transition:
    if event == Input.SAME:
        return 1, Action.NONE
    if event == Input.OTHER:
        return 1, Action.START
    misses = state - State.GAP + 2
    if misses >= GAP_BLOCKS:
        return State.IDLE, Action.NONE
    return State.GAP + misses - 1, Action.NONE


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
    if state <= State.HOLD:
        return _run
    return _gap if state < State.KEY else _key


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


# The same machine over (state, tracked key) and a block's key code, for the detector's loop:
# one lookup per block advances the state and takes the key on START. A channel's position is
# ``(state * CODES + key + 1) * CODES + 1`` (key -1: none yet), so that adding the block's key
# code (-1: no key) gives the table index, and ``index // CODES`` is ``state * CODES + key + 1``.
CODES = 17  # key codes -1 .. 15


def _build_keyed() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int8]]:
    state, key, code = np.meshgrid(
        np.arange(STATE_COUNT), np.arange(-1, 16), np.arange(-1, 16), indexing="ij"
    )
    hit = code >= 0
    event = np.where(hit, np.where(code == key, Input.SAME, Input.OTHER), Input.MISS)
    index = state * len(Input) + event
    action = ACTION[index]
    tracked = np.where(action == Action.START, code, key)
    position = keyed_position(NEXT[index], tracked).ravel()
    position.setflags(write=False)
    flat_action = action.ravel()
    flat_action.setflags(write=False)
    return position, flat_action


def keyed_position(state: npt.ArrayLike, key: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """The loop's position for ``state`` tracking ``key`` (-1: none)."""
    base = np.asarray(state, dtype=np.intp) * CODES + np.asarray(key, dtype=np.intp) + 1
    position: npt.NDArray[np.intp] = base * CODES + 1
    return position


def keyed_parts(position: npt.ArrayLike) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(state, key) of loop positions, or of table indices."""
    state, rest = np.divmod(np.asarray(position, dtype=np.intp) // CODES, CODES)
    return state, rest - 1


KEYED_NEXT, KEYED_ACTION = _build_keyed()  # indexed by position + code
