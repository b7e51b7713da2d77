"""The per-leg key merger: one press seen several ways is one key; time driven by hand."""

from __future__ import annotations

import pytest

from b2bua.media.keys import ABSORB_KEEP, LONGEST_KEY, REPORT_GRACE, KeyEvent, LegKeys


def finish(keys: LegKeys, now: float) -> list[KeyEvent]:
    deadline = keys.next_deadline()
    assert deadline is not None
    return keys.handle_timer(max(now, deadline))


def test_single_way_key_reported_after_grace() -> None:
    keys = LegKeys(7)
    key, new = keys.start("rfc4733", "5", 10.0, 10.0)
    assert new and key.digit == "5"
    keys.end("rfc4733", "5", 10.2, 10.2)
    assert keys.handle_timer(10.2 + REPORT_GRACE / 2) == []
    assert keys.handle_timer(10.2 + REPORT_GRACE) == [
        KeyEvent(7, "5", ("rfc4733",), 10.0, 10.2, False)]


def test_event_and_inband_of_one_press_are_one_key() -> None:
    keys = LegKeys(1)
    key, _ = keys.start("rfc4733", "1", 5.00, 5.00)
    key.swallowed = True
    assert keys.silenced
    # the in-band detector places the tone a little earlier, and decides later
    merged, new_again = keys.start("inband", "1", 4.98, 5.06)
    assert merged is key and not new_again
    keys.end("rfc4733", "1", 5.10, 5.10)
    assert keys.silenced, "still held down in-band"
    keys.end("inband", "1", 5.12, 5.18)
    assert not keys.silenced
    assert finish(keys, 5.18) == [KeyEvent(1, "1", ("rfc4733", "inband"), 4.98, 5.12, True)]


def test_late_way_after_report_is_absorbed_not_a_second_key() -> None:
    keys = LegKeys(1)
    keys.start("info", "9", 1.0, 1.0)
    keys.end("info", "9", 1.1, 1.1)
    assert len(finish(keys, 1.1)) == 1
    key, new = keys.start("inband", "9", 1.05, 1.5)
    assert not new and key.sources == ["info", "inband"]
    keys.end("inband", "9", 1.2, 1.6)
    assert keys.handle_timer(2.0) == []


def test_two_presses_of_the_same_digit_are_two_keys() -> None:
    keys = LegKeys(1)
    keys.start("rfc4733", "3", 1.0, 1.0)
    keys.end("rfc4733", "3", 1.1, 1.1)
    _, new = keys.start("rfc4733", "3", 1.15, 1.15)
    assert new, "the same way pressing again is a new key even inside the merge window"
    keys.end("rfc4733", "3", 1.3, 1.3)
    events = keys.handle_timer(2.0)
    assert [e.start for e in events] == [1.0, 1.15]


def test_different_digits_do_not_merge_and_new_digit_ends_previous() -> None:
    keys = LegKeys(1)
    keys.start("rfc4733", "1", 1.0, 1.0)
    _, new = keys.start("rfc4733", "2", 1.1, 1.1)
    assert new
    keys.end("rfc4733", "2", 1.2, 1.2)
    events = keys.handle_timer(2.0)
    assert [(e.digit, e.end) for e in events] == [("1", 1.1), ("2", 1.2)]


def test_far_apart_views_are_separate_keys() -> None:
    keys = LegKeys(1)
    keys.start("info", "4", 1.0, 1.0)
    keys.end("info", "4", 1.1, 1.1)
    _, new = keys.start("inband", "4", 2.0, 2.0)
    assert new


def test_key_without_end_is_forced_closed() -> None:
    keys = LegKeys(1)
    keys.start("inband", "0", 1.0, 1.0)
    assert keys.next_deadline() == 1.0 + LONGEST_KEY
    keys.handle_timer(1.0 + LONGEST_KEY)
    events = keys.handle_timer(1.0 + LONGEST_KEY + REPORT_GRACE)
    assert [e.digit for e in events] == ["0"]


def test_reported_keys_are_forgotten() -> None:
    keys = LegKeys(1)
    keys.start("info", "7", 1.0, 1.0)
    keys.end("info", "7", 1.1, 1.1)
    finish(keys, 1.1)
    assert not keys.idle
    keys.handle_timer(1.1 + REPORT_GRACE + ABSORB_KEEP + 0.01)
    assert keys.idle and keys.next_deadline() is None


def test_end_without_start_is_ignored_and_bad_digit_rejected() -> None:
    keys = LegKeys(1)
    keys.end("rfc4733", "5", 1.0, 1.0)
    assert keys.idle
    with pytest.raises(ValueError):
        keys.start("info", "x", 1.0, 1.0)
