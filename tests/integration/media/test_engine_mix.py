"""Mixes, player, recorder and RTP timeout over real UDP sockets, checked by frequency."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from b2bua.media.engine import MediaEngine, PlayFinished, RtpTimeout

from .conftest import Phone, frames, spectrum_levels, stream_audio, tone_codes
from .test_engine_relay import leg

CLIENT_HZ, EMPLOYEE_HZ, TRAINER_HZ = 500.0, 1000.0, 1700.0
PRESENT, ABSENT = 0.2, 0.02


async def test_whisper_is_three_different_mixes(engine: MediaEngine,
                                                phones: list[Phone]) -> None:
    client, employee, trainer = Phone(ssrc=1), Phone(ssrc=2), Phone(ssrc=3)
    phones += [client, employee, trainer]
    c, e, t = leg(engine, client), leg(engine, employee), leg(engine, trainer)
    engine.set_sources(c, [e])
    engine.set_sources(e, [c, t])
    engine.set_sources(t, [c, e])
    sent = [(client, frames(tone_codes(CLIENT_HZ, 0.8))),
            (employee, frames(tone_codes(EMPLOYEE_HZ, 0.8))),
            (trainer, frames(tone_codes(TRAINER_HZ, 0.8)))]
    heard = await asyncio.gather(stream_audio(sent), client.collect(quiet=0.3),
                                 employee.collect(quiet=0.3), trainer.collect(quiet=0.3))
    to_client, to_employee, to_trainer = heard[1:]
    freqs = [CLIENT_HZ, EMPLOYEE_HZ, TRAINER_HZ]
    at_client = spectrum_levels(to_client, freqs)
    at_employee = spectrum_levels(to_employee[10:], freqs)
    at_trainer = spectrum_levels(to_trainer[10:], freqs)
    assert at_client[EMPLOYEE_HZ] > PRESENT
    assert at_client[TRAINER_HZ] < ABSENT and at_client[CLIENT_HZ] < ABSENT
    assert at_employee[CLIENT_HZ] > PRESENT and at_employee[TRAINER_HZ] > PRESENT
    assert at_employee[EMPLOYEE_HZ] < ABSENT
    assert at_trainer[CLIENT_HZ] > PRESENT and at_trainer[EMPLOYEE_HZ] > PRESENT
    assert at_trainer[TRAINER_HZ] < ABSENT
    for packets in (to_employee, to_trainer):
        seqs = [p.sequence for p in packets]
        assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]
        assert len({p.ssrc for p in packets}) == 1


async def test_player_alone_then_finished_event(engine: MediaEngine,
                                                phones: list[Phone]) -> None:
    finished: list[PlayFinished] = []
    engine.on_play_finished = finished.append
    phone = Phone()
    phones.append(phone)
    s = leg(engine, phone)
    t = np.arange(1600) / 8000
    engine.play(s, (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    got = await phone.collect(quiet=0.2)
    assert len(got) == 10
    assert spectrum_levels(got, [440.0])[440.0] > 0.5
    assert finished == [PlayFinished(s)]


async def test_beep_over_sources_is_heard_with_the_peer(engine: MediaEngine,
                                                        phones: list[Phone]) -> None:
    client, employee = Phone(ssrc=1), Phone(ssrc=2)
    phones += [client, employee]
    c, e = leg(engine, client), leg(engine, employee)
    engine.bridge(c, e)
    t = np.arange(8000) / 8000
    engine.play(e, (6000 * np.sin(2 * np.pi * 1400 * t)).astype(np.int16), over_sources=True)
    heard = await asyncio.gather(stream_audio([(client, frames(tone_codes(CLIENT_HZ, 0.6)))]),
                                 employee.collect(quiet=0.3))
    levels = spectrum_levels(heard[1][6:26], [CLIENT_HZ, 1400.0])
    assert levels[CLIENT_HZ] > PRESENT and levels[1400.0] > PRESENT


async def test_recorder_writes_stereo_wav_readable_mid_call(engine: MediaEngine,
                                                            phones: list[Phone],
                                                            tmp_path: Path) -> None:
    client, employee = Phone(ssrc=1), Phone(ssrc=2)
    phones += [client, employee]
    c, e = leg(engine, client), leg(engine, employee)
    engine.bridge(c, e)
    path = tmp_path / "call.wav"
    recorder = engine.record(c, e, str(path))
    await stream_audio([(client, frames(tone_codes(CLIENT_HZ, 1.0))),
                        (employee, frames(tone_codes(EMPLOYEE_HZ, 1.0)))])
    await asyncio.sleep(0.1)
    with wave.open(str(path)) as mid:
        assert (mid.getnchannels(), mid.getsampwidth(), mid.getframerate()) == (2, 2, 8000)
        assert mid.getnframes() >= 4000, "flushed as it grows, header kept current"
    engine.stop_record(recorder)
    with wave.open(str(path)) as done:
        audio = np.frombuffer(done.readframes(done.getnframes()), "<i2").reshape(-1, 2)
    assert audio.shape[0] >= 8000
    for channel, own, other in ((0, CLIENT_HZ, EMPLOYEE_HZ), (1, EMPLOYEE_HZ, CLIENT_HZ)):
        spectrum = np.abs(np.fft.rfft(audio[:, channel].astype(float)))
        bins = np.fft.rfftfreq(audio.shape[0], 1 / 8000)
        level = {f: spectrum[np.abs(bins - f) < 15].max() for f in (own, other)}
        assert level[own] > 100 * level[other]


async def test_rtp_timeout_reported_once_and_suspended_on_hold(engine: MediaEngine,
                                                               phones: list[Phone]) -> None:
    timeouts: list[RtpTimeout] = []
    engine.on_timeout = timeouts.append
    alice, bob = Phone(), Phone()
    phones += [alice, bob]
    a = leg(engine, alice, rtp_timeout=0.3)
    b = leg(engine, bob, rtp_timeout=0.3, direction="sendonly")
    await asyncio.sleep(0.8)
    assert [t.stream for t in timeouts] == [a]
    assert timeouts[0].idle >= 0.3
    alice.send_audio(b"\xff" * 160)
    await asyncio.sleep(0.3)
    assert len(timeouts) == 1
    assert b != a


async def test_stream_continuous_from_relay_to_mix_and_back(engine: MediaEngine,
                                                            phones: list[Phone]) -> None:
    client, employee, trainer = Phone(ssrc=0xC), Phone(ssrc=0xE), Phone(ssrc=0x7)
    phones += [client, employee, trainer]
    c, e, t = leg(engine, client), leg(engine, employee), leg(engine, trainer)
    engine.set_sources(e, [c])
    tone = frames(tone_codes(CLIENT_HZ, 0.2))
    relayed = (await asyncio.gather(stream_audio([(client, tone)]),
                                    employee.collect(quiet=0.1)))[1]
    engine.set_sources(e, [c, t])  # the trainer joins: the employee's stream becomes a mix
    mixed = (await asyncio.gather(stream_audio([(client, tone), (trainer, tone)]),
                                  employee.collect(quiet=0.1, limit=0.5)))[1]
    engine.set_sources(e, [c])  # the trainer leaves
    await asyncio.sleep(0.05)
    await employee.collect(quiet=0.05)  # drop the tail of the mix
    back = (await asyncio.gather(stream_audio([(client, tone)]),
                                 employee.collect(quiet=0.1)))[1]
    assert relayed and mixed and back
    assert {p.ssrc for p in relayed + mixed + back} == {0xC}
    for before, after in ((relayed[-1], mixed[0]), (mixed[-1], back[0])):
        gap = (after.sequence - before.sequence) & 0xFFFF
        assert 1 <= gap <= 30, "sequence numbers go on, no jump"
        assert 0 < (after.timestamp - before.timestamp) & 0xFFFFFFFF < 8000
