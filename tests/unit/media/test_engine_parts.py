"""Pure parts of the media engine: continuity arithmetic, jitter bank, player, mixer, ports."""

from __future__ import annotations

import select
import socket
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from b2bua.media.codec import PCMA, PCMU, TRANSCODE
from b2bua.media.jitter import DELAY_FRAMES, FRAME, RING, TOO_FAR_AHEAD, AudioBank
from b2bua.media.mixer import MixPlan, silence_rows
from b2bua.media.player import Player
from b2bua.media.ports import PortPool, PortRange, PortsExhausted
from b2bua.media.recorder import WavRecorder
from b2bua.media.relay import continuation, elapsed_samples

# -- continuity ---------------------------------------------------------------------------


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF),
       st.integers(0, 0xFFFFFFFF), st.integers(1, 50))
def test_continuation_follows_last_packet_across_wrap(last_seq: int, last_ts: int, seq: int,
                                                      ts: int, frames_later: int) -> None:
    elapsed = frames_later * FRAME
    seq_shift, ts_shift = continuation(last_seq, last_ts, elapsed, seq, ts)
    assert (seq + seq_shift) & 0xFFFF == (last_seq + 1) & 0xFFFF
    assert (ts + ts_shift) & 0xFFFFFFFF == (last_ts + elapsed) & 0xFFFFFFFF
    # the following packets of the new source keep stepping by one
    assert (seq + 7 + seq_shift) & 0xFFFF == (last_seq + 8) & 0xFFFF


def test_continuation_concrete_wrap() -> None:
    seq_shift, ts_shift = continuation(0xFFFF, 0xFFFFFF60, 160, 10, 1000)
    assert (10 + seq_shift) & 0xFFFF == 0
    assert (1000 + ts_shift) & 0xFFFFFFFF == 0


def test_elapsed_samples_whole_frames_at_least_one() -> None:
    assert elapsed_samples(0.0) == FRAME
    assert elapsed_samples(0.021) == FRAME
    assert elapsed_samples(0.1) == 5 * FRAME


# -- jitter bank --------------------------------------------------------------------------


def _frame(value: int) -> memoryview:
    return memoryview(bytes([value]) * FRAME)


def _take_codes(bank: AudioBank, row: int) -> np.ndarray:
    return PCMU.encode(bank.take()[row].copy())


def test_jitter_bank_plays_after_delay_and_fixes_reordering() -> None:
    bank = AudioBank(rows=2)
    capture = bank.add(PCMU.index)
    capture.write(1000, _frame(0x10), 0, FRAME)
    capture.write(1000 + 2 * FRAME, _frame(0x30), 0, FRAME)  # arrives before its predecessor
    capture.write(1000 + FRAME, _frame(0x20), 0, FRAME)
    played = [_take_codes(bank, capture.row)[0] for _ in range(DELAY_FRAMES + 3)]
    assert played == [0xFF] * DELAY_FRAMES + [0x10, 0x20, 0x30]


def test_jitter_bank_loss_is_silence_and_late_packets_are_dropped() -> None:
    bank = AudioBank(rows=1)
    capture = bank.add(PCMU.index)
    capture.write(0, _frame(0x10), 0, FRAME)
    capture.write(2 * FRAME, _frame(0x30), 0, FRAME)  # frame 1 lost
    out = [_take_codes(bank, capture.row)[0] for _ in range(DELAY_FRAMES + 2)]
    capture.write(FRAME, _frame(0x20), 0, FRAME)  # too late now
    out.append(_take_codes(bank, capture.row)[0])
    assert out[DELAY_FRAMES:] == [0x10, 0xFF, 0x30]


def test_jitter_bank_across_timestamp_wrap_and_ring_end() -> None:
    bank = AudioBank(rows=1)
    capture = bank.add(PCMA.index)
    start = 0xFFFFFFFF - 3 * FRAME + 1
    got = []
    for i in range(RING // FRAME + 4):
        capture.write((start + i * FRAME) & 0xFFFFFFFF, _frame(i % 200), 0, FRAME)
        got.append(int(PCMA.encode(bank.take()[capture.row].copy())[0]))
    assert got[DELAY_FRAMES:] == [i % 200 for i in range(len(got) - DELAY_FRAMES)]


def test_jitter_bank_odd_packet_sizes_are_sample_accurate() -> None:
    bank = AudioBank(rows=1)
    capture = bank.add(PCMU.index)
    data = bytes(range(240))
    capture.write(0, memoryview(data), 0, 240)  # 30 ms packets
    capture.write(240, memoryview(data), 0, 240)
    frames = [PCMU.encode(bank.take()[capture.row].copy()) for _ in range(DELAY_FRAMES + 3)]
    joined = np.concatenate(frames[DELAY_FRAMES:])[:480]
    expected = PCMU.encode(PCMU.decode(np.frombuffer(data * 2, np.uint8)))
    assert np.array_equal(joined, expected)


def test_jitter_bank_drops_frames_when_a_fast_sender_runs_ahead() -> None:
    bank = AudioBank(rows=1)
    capture = bank.add(PCMU.index)
    ts = 0
    played = []
    for i in range(40):  # the sender's clock runs 5 % fast: an extra packet every 20 ticks
        for _ in range(2 if i % 20 == 19 else 1):
            capture.write(ts, _frame(0x40), 0, FRAME)
            ts += FRAME
        played.append(_take_codes(bank, capture.row)[0])
    head = bank.ticker.count - capture.offset
    buffered = (ts - capture.origin - head * FRAME) & 0xFFFFFFFF
    assert buffered <= TOO_FAR_AHEAD
    assert played[DELAY_FRAMES:] == [0x40] * (40 - DELAY_FRAMES), "no gap, no restart"


def test_jitter_bank_steps_back_when_a_slow_sender_falls_late() -> None:
    bank = AudioBank(rows=1)
    capture = bank.add(PCMU.index)
    ts = 0
    played = []
    for i in range(60):  # one packet missing every 10 ticks: the sender is slow
        if i % 10 != 9:
            capture.write(ts, _frame(0x40), 0, FRAME)
            ts += FRAME
        played.append(_take_codes(bank, capture.row)[0])
    # 6 frames never sent; stepping back drops one packet and restores the full delay
    assert played[DELAY_FRAMES:].count(0xFF) <= 6
    assert played[-8:].count(0x40) >= 7, "steady again: not every packet late"


def test_jitter_bank_grows_and_keeps_rows() -> None:
    bank = AudioBank(rows=1)
    first = bank.add(PCMU.index)
    first.write(0, _frame(0x10), 0, FRAME)
    second = bank.add(PCMU.index)
    assert bank.rows == 2 and second.row != first.row
    out = [_take_codes(bank, first.row)[0] for _ in range(DELAY_FRAMES + 1)]
    assert out[-1] == 0x10
    assert not bank.decoded[bank.zero_row].any()


def test_jitter_bank_decodes_each_row_by_its_own_law() -> None:
    bank = AudioBank(rows=2)
    mu, a = bank.add(PCMU.index), bank.add(PCMA.index)
    for capture in (mu, a):
        capture.write(0, _frame(0x10), 0, FRAME)
        capture.write(FRAME, _frame(0x20), 0, FRAME)
    for _ in range(DELAY_FRAMES):
        bank.take()
    decoded = bank.take()
    assert decoded[mu.row][0] == PCMU.decode_table[0x10]
    assert decoded[a.row][0] == PCMA.decode_table[0x10]
    bank.set_codec(a, PCMU.index)  # a re-INVITE changed the law: the row restarts
    a.write(5000, _frame(0x30), 0, FRAME)
    frames = [bank.take()[[a.row, mu.row], 0].copy() for _ in range(DELAY_FRAMES + 1)]
    assert frames[-1][0] == PCMU.decode_table[0x30]
    assert frames[0][1] == PCMU.decode_table[0x20], "the other row kept its law"


def test_jitter_bank_layout_changes_with_rows() -> None:
    bank = AudioBank(rows=1)
    bank.take()
    before = bank.layout
    capture = bank.add(PCMU.index)
    bank.take()
    added = bank.layout
    bank.take()
    assert added != before and bank.layout == added, "bumped once per change, on the tick"
    bank.remove(capture)
    bank.take()
    assert bank.layout != added


# -- codecs, player, mixer ----------------------------------------------------------------


def test_transcode_tables_map_silence() -> None:
    assert b"\xff".translate(TRANSCODE[("PCMU", "PCMA")]) == b"\xd5"
    assert b"\xd5".translate(TRANSCODE[("PCMA", "PCMU")]) in (b"\xff", b"\x7f", b"\xfe")


def test_player_once_pads_and_finishes() -> None:
    player = Player(np.arange(200, dtype=np.int16))
    assert np.array_equal(player.next_frame(), np.arange(160))
    last = player.next_frame()
    assert np.array_equal(last[:40], np.arange(160, 200)) and not last[40:].any()
    assert player.finished


def test_player_loop_wraps_short_sounds() -> None:
    player = Player(np.array([1, 2, 3], np.int16), loop=True)
    frame = player.next_frame()
    assert list(frame[:7]) == [1, 2, 3, 1, 2, 3, 1] and not player.finished
    assert player.position == 160 % 3


def test_player_rejects_wrong_dtype() -> None:
    with pytest.raises(ValueError):
        Player(np.zeros(10, np.float32))


def test_mix_plan_sums_saturates_and_encodes_per_codec() -> None:
    decoded = np.zeros((4, FRAME), np.int16)  # 3 rows + the zero row
    decoded[0] = 1000
    decoded[1] = 30000
    decoded[2] = 20000
    plan = MixPlan([[0, 2], [1, 2], []], [PCMU.index, PCMA.index, PCMU.index], zero_row=3)
    codes = plan.mix(decoded, [(2, np.full(FRAME, 500, np.int16))])
    assert np.array_equal(PCMU.decode(codes[0]), PCMU.decode(PCMU.encode(
        np.full(FRAME, 21000, np.int16))))
    assert PCMA.decode(codes[1])[0] == PCMA.decode(PCMA.encode(np.array([32767], np.int16)))[0]
    assert PCMU.decode(codes[2])[0] == PCMU.decode(PCMU.encode(np.array([500], np.int16)))[0]


def test_silence_rows_leaves_original() -> None:
    decoded = np.ones((3, FRAME), np.int16)
    muted = silence_rows(decoded, [1])
    assert not muted[1].any() and decoded[1].all() and muted[0].all()


# -- ports and recorder -------------------------------------------------------------------


def test_port_pool_even_ports_reuse_after_release_and_exhaustion() -> None:
    pool = PortPool(PortRange("127.0.0.1", 61100, 61105))
    first = pool.acquire()
    second = pool.acquire()
    third = pool.acquire()
    assert [first[0], second[0], third[0]] == [61100, 61102, 61104]
    assert third[2].getsockname()[1] == 61105
    with pytest.raises(PortsExhausted):
        pool.acquire()
    first[1].close()
    first[2].close()
    pool.release(first[0])
    again = pool.acquire()
    assert again[0] == 61100
    for _, rtp, rtcp in (second, third, again):
        rtp.close()
        rtcp.close()


def test_port_pool_skips_ports_taken_by_others() -> None:
    pool = PortPool(PortRange("127.0.0.1", 61200, 61203))
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", 61201))
    try:
        port, rtp, rtcp = pool.acquire()
        assert port == 61202
        rtp.close()
        rtcp.close()
    finally:
        squatter.close()


def test_port_pool_reuses_kept_pairs_oldest_first_up_to_its_limit() -> None:
    pool = PortPool(PortRange("127.0.0.1", 61300, 61309), keep=2)
    first, second, third = pool.acquire(), pool.acquire(), pool.acquire()
    assert pool.keep_bound(first, connected=False) and pool.keep_bound(second, connected=False)
    assert not pool.keep_bound(third, connected=False), "beyond the limit: closed by the caller"
    third.close()
    pool.release(third.port)
    assert (pool.kept, pool.in_use) == (2, 0)
    assert pool.acquire() is first and pool.acquire() is second
    fresh = pool.acquire()
    assert fresh.port == 61306, "then the next port never used, not the one just closed"
    for pair in (first, second, fresh):
        pair.close()


def test_kept_pair_is_disconnected_and_drained() -> None:
    pool = PortPool(PortRange("127.0.0.1", 61400, 61403), keep=4)
    phone, stranger = _udp(), _udp()
    try:
        pair = pool.acquire()
        pair.rtp.connect(phone.getsockname())  # latched on its phone
        assert pool.keep_bound(pair, connected=True)
        stranger.sendto(b"late", ("127.0.0.1", pair.port))
        stranger.sendto(b"late", ("127.0.0.1", pair.port + 1))
        _wait_readable(pair.rtp)
        again = pool.acquire()
        assert again is pair
        for sock in (pair.rtp, pair.rtcp):
            with pytest.raises(BlockingIOError):
                sock.recv(100)  # drained
        stranger.sendto(b"new", ("127.0.0.1", pair.port))
        _wait_readable(pair.rtp)
        assert pair.rtp.recv(100) == b"new", "no longer connected: hears everyone"
        pair.close()
    finally:
        phone.close()
        stranger.close()


def test_port_pool_forgets_kept_pairs_on_close() -> None:
    pool = PortPool(PortRange("127.0.0.1", 61500, 61501), keep=4)
    pair = pool.acquire()
    pool.keep_bound(pair, connected=False)
    assert pool.close_kept() == [pair] and pool.kept == 0
    pair.close()
    again = pool.acquire()  # the port is free again: bound anew
    assert again.port == 61500 and again is not pair
    again.close()


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait_readable(sock: socket.socket) -> None:
    readable, _, _ = select.select([sock], [], [], 2.0)
    assert readable, "the datagram did not arrive"


def test_port_range_validation() -> None:
    with pytest.raises(ValueError):
        PortRange("127.0.0.1", 33101, 33200)
    with pytest.raises(ValueError):
        PortRange("127.0.0.1", 33100, 33100)


def test_recorder_header_current_after_each_flush(tmp_path: Path) -> None:
    path = tmp_path / "r.wav"
    recorder = WavRecorder(path)
    with wave.open(str(path)) as empty:
        assert empty.getnframes() == 0
    recorder.append(np.array([[1, -1]] * 160, "<i2").tobytes())
    recorder.flush()
    with wave.open(str(path)) as partial:
        assert partial.getnframes() == 160 and partial.getnchannels() == 2
    recorder.append(np.array([[2, -2]] * 80, "<i2").tobytes())
    recorder.close()
    with wave.open(str(path)) as done:
        data = np.frombuffer(done.readframes(1000), "<i2").reshape(-1, 2)
    assert data.shape == (240, 2) and list(data[-1]) == [2, -2]
