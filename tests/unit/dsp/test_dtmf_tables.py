"""The DTMF state table: every (state, input) pair, and properties over input sequences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dsp.dtmf_tables import (
    ACTION,
    GAP_BLOCKS,
    KEY_MIN_BLOCKS,
    KEYED_ACTION,
    KEYED_NEXT,
    NEXT,
    RETRY_STATE,
    STATE_COUNT,
    Action,
    Input,
    State,
    keyed_parts,
    keyed_position,
)

MISS, SAME, OTHER = Input.MISS, Input.SAME, Input.OTHER


def _step(state: int, event: Input) -> tuple[int, int]:
    index = state * len(Input) + event
    return int(NEXT[index]), int(ACTION[index])


def _run(events: list[Input], state: int = State.IDLE, accept: bool = True) -> list[int]:
    """Actions over ``events``; ANALYSE is answered like the detector (KEY or RETRY)."""
    actions = []
    for event in events:
        state, action = _step(state, event)
        if action == Action.ANALYSE:
            state = State.KEY if accept else RETRY_STATE
        actions.append(action)
    return actions


def test_every_pair_leads_to_a_valid_state() -> None:
    for state in range(STATE_COUNT):
        for event in Input:
            target, action = _step(state, event)
            assert 0 <= target < STATE_COUNT
            assert action in set(Action)
            if action == Action.UP:
                assert state == State.KEY + GAP_BLOCKS - 1 and event != SAME
            if action == Action.ANALYSE:
                assert state == KEY_MIN_BLOCKS - 1 and event == SAME
            if action == Action.START:
                assert event != MISS and state < State.KEY and target in (1, 2)


def test_seven_hits_make_one_analysis_and_a_pending_run_waits() -> None:
    actions = _run([OTHER] + [SAME] * (KEY_MIN_BLOCKS - 1) + [SAME] * 5, accept=False)
    assert actions[0] == Action.START
    assert actions.count(Action.ANALYSE) == 1 and actions[KEY_MIN_BLOCKS - 1] == Action.ANALYSE
    state = State.IDLE
    for event in [OTHER] + [SAME] * 20:
        state, _ = _step(state, event)
    assert state == State.PENDING  # no analysis again until the detector answers


def test_a_key_ends_after_the_gap_and_not_before() -> None:
    state = State.KEY
    for _ in range(GAP_BLOCKS - 1):
        state, action = _step(state, MISS)
        assert action == Action.NONE
    state, action = _step(state, SAME)  # the key resumes: a break, not an end
    assert state == State.KEY and action == Action.NONE
    for count in range(GAP_BLOCKS):
        state, action = _step(state, OTHER if count % 2 else MISS)
    assert action == Action.UP and state == State.IDLE


def test_hold_waits_for_the_run_to_end() -> None:
    state, action = _step(State.HOLD, SAME)
    assert (state, action) == (State.HOLD, Action.NONE)
    state, action = _step(State.HOLD, MISS)
    assert state == State.GAP and action == Action.NONE
    assert _step(State.HOLD, OTHER) == (1, Action.START)


events = st.lists(st.sampled_from(list(Input)), max_size=200)


@given(events)
def test_downs_and_ups_alternate(sequence: list[Input]) -> None:
    marks = [a for a in _run(sequence) if a in (Action.ANALYSE, Action.UP)]
    assert marks == [Action.ANALYSE, Action.UP] * (len(marks) // 2) + [Action.ANALYSE] * (
        len(marks) % 2
    )


@given(events)
def test_an_analysis_follows_hits_only(sequence: list[Input]) -> None:
    actions = _run(sequence, accept=False)
    for index, action in enumerate(actions):
        if action == Action.ANALYSE:
            assert index >= KEY_MIN_BLOCKS - 1
            assert MISS not in sequence[index - KEY_MIN_BLOCKS + 1 : index + 1]
            assert sequence[index] == SAME
    assert Action.UP not in actions  # nothing was accepted, so nothing ends


@given(st.lists(st.sampled_from([SAME, OTHER]), max_size=30))
def test_misses_always_return_to_idle(prefix: list[Input]) -> None:
    state = State.IDLE
    for event in prefix + [MISS] * GAP_BLOCKS:
        state, action = _step(state, event)
        if action == Action.ANALYSE:
            state = State.KEY
    assert state == State.IDLE


def test_the_keyed_table_is_the_state_table_unrolled_over_keys() -> None:
    """(state, tracked key) + block code: the (state, input) step, taking the key on START."""
    for state in range(STATE_COUNT):
        for key in range(-1, 16):
            position = int(keyed_position(state, key))
            assert tuple(map(int, keyed_parts(position))) == (state, key)
            for code in range(-1, 16):
                event = MISS if code < 0 else (SAME if code == key else OTHER)
                target, action = _step(state, event)
                index = position + code
                tracked = code if action == Action.START else key
                assert int(KEYED_NEXT[index]) == int(keyed_position(target, tracked))
                assert int(KEYED_ACTION[index]) == action
                assert tuple(map(int, keyed_parts(index))) == (state, key)


@given(st.lists(st.integers(-1, 15), max_size=120))
def test_the_keyed_table_follows_a_block_sequence_like_the_state_table(codes: list[int]) -> None:
    state, key = int(State.IDLE), -1
    position = int(keyed_position(state, key))
    for code in codes:
        event = MISS if code < 0 else (SAME if code == key else OTHER)
        state, action = _step(state, event)
        key = code if action == Action.START else key
        assert int(KEYED_ACTION[position + code]) == action
        position = int(KEYED_NEXT[position + code])
        assert tuple(map(int, keyed_parts(position))) == (state, key)
