"""A whole office on loopback, and one client call through it, told step by step.

    python3 sip-testbed/run_office.py            # or: python3 -m testbed.demo (in sip-testbed/)

It starts the B2BUA on the demo office (free ports, a fresh data directory), baresip phones for
Anna (101), Boris (102), their trainer Daria (105) and a client, and every phone "speaks" its own
tone so that who hears whom can be measured. Then the client calls the company number; Anna
answers, tags the call (key 1), calls in her trainer (key 4), starts recording (key 7), and
transfers the client to Boris (# 102). At the end it prints what each phone heard and what the
report shows, and exits 0 only if everything happened as told.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .audio import read_wav, tone_level, write_tone
from .calls import baresip_client, baresip_phone, events, report, sip_address, until
from .office import office_config

VOICES = {"client": 500.0, "Anna": 1100.0, "Boris": 1300.0, "Daria": 1700.0}


class Story:
    """Prints numbered steps with the time since the start; remembers failed expectations."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.failures: list[str] = []

    def say(self, who: str, what: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f}s] {who:<8} {what}", flush=True)

    def expect(self, ok: bool, what: str) -> None:
        self.say("check", ("ok    " if ok else "FAILED ") + what)
        if not ok:
            self.failures.append(what)


async def step(story: Story, who: str, what: str,
               action: Callable[[], Awaitable[Any]]) -> Any:
    story.say(who, what)
    return await action()


def heard_voices(phone: Any, last_seconds: float | None = None) -> dict[str, float]:
    """Share of what `phone` heard at each party's tone (over the last seconds if given)."""
    files = phone.heard_files()
    if not files:
        return {}
    samples, rate = read_wav(files[0])
    mono = samples[:, 0]
    if last_seconds is not None:
        mono = mono[-int(last_seconds * rate):]
    return {name: tone_level(mono, rate, hz) for name, hz in VOICES.items()}


async def run(workdir: Path) -> int:
    from b2bua.app.service import Service

    story = Story()
    service = Service(office_config(workdir / "data"), workdir / "data")
    await service.start()
    story.say("office", f"B2BUA up: SIP {sip_address(service)}, admin "
                        f"http://127.0.0.1:{service.web.port}/ (token {service.api_token})")
    tones = {name: write_tone(workdir / f"{name}.wav", hz, 120) for name, hz in VOICES.items()}
    phones: dict[str, Any] = {}
    detail = None
    try:
        for name, extension in (("Anna", "101"), ("Boris", "102"), ("Daria", "105")):
            phones[name] = await baresip_phone(workdir / name, service, extension,
                                               audio=tones[name])
            story.say(name, f"phone registered as {extension}")
        phones["client"] = client = await baresip_client(workdir / "client", service,
                                                          audio=tones["client"])
        await scripted_call(story, service, phones)
        await client.command("hangup")
        detail = await until(
            lambda: (d := report(service)) is not None and d.call.ended_at and d, 10)
        story.say("client", "hung up")
    finally:
        for phone in phones.values():
            await phone.stop()
        await service.stop()
    tell_what_was_heard(story, phones)
    tell_the_report(story, detail)
    print()
    if story.failures:
        print(f"{len(story.failures)} expectation(s) failed: {story.failures}")
        return 1
    print("everything happened as told")
    return 0


async def scripted_call(story: Story, service: Any, phones: dict[str, Any]) -> None:
    anna, boris, daria, client = (phones[n] for n in ("Anna", "Boris", "Daria", "client"))
    await step(story, "client", "dials the company number 7000",
               lambda: client.command("dial", f"sip:7000@{sip_address(service)}"))
    await anna.wait_event("CALL_ESTABLISHED", timeout=10)
    story.say("Anna", "her phone rang (7000 rings 101) and she answered")
    await asyncio.sleep(1.5)
    await step(story, "Anna", "presses 1 (tag the call)", lambda: anna.command("sndcode", "1"))
    await asyncio.sleep(1.0)
    await step(story, "Anna", "presses 4 (call the trainer)",
               lambda: anna.command("sndcode", "4"))
    await daria.wait_event("CALL_ESTABLISHED", timeout=10)
    story.say("Daria", "her phone rang and she joined: she whispers to Anna")
    await asyncio.sleep(2.5)
    await step(story, "Daria", "hangs up: Anna and the client are two again",
               lambda: daria.command("hangup"))
    await asyncio.sleep(1.0)
    await step(story, "Anna", "presses 7 (record the call)", lambda: anna.command("sndcode", "7"))
    await asyncio.sleep(2.0)
    await step(story, "Anna", "presses # 1 0 2 (transfer to Boris)",
               lambda: anna.command("sndcode", "#102"))
    await boris.wait_event("CALL_ESTABLISHED", timeout=10)
    story.say("Boris", "his phone rang and he answered: he has the client now")
    await anna.wait_event("CALL_CLOSED", timeout=10)
    story.say("Anna", "her phone was released by the transfer")
    await asyncio.sleep(2.5)


def tell_what_was_heard(story: Story, phones: dict[str, Any]) -> None:
    print("\nwhat each phone heard (share of its audio at each party's tone):")
    heard = {name: heard_voices(phone) for name, phone in phones.items()}
    for name, levels in heard.items():
        shown = ", ".join(f"{who} {level:.0%}" for who, level in levels.items() if who != name)
        print(f"  {name:<7} {shown}")
    story.expect(heard["client"].get("Anna", 0) > 0.05, "the client heard Anna")
    end = heard_voices(phones["client"], last_seconds=1.5)
    story.expect(end.get("Boris", 0) > 0.3, "the client heard Boris after the transfer")
    story.expect(heard["client"].get("Daria", 1) < 0.005, "the client never heard the trainer")
    story.expect(heard["Anna"].get("Daria", 0) > 0.02, "Anna heard her trainer")
    story.expect(heard["Daria"].get("client", 0) > 0.05, "the trainer heard the client")
    story.expect(heard["Daria"].get("Anna", 0) > 0.05, "the trainer heard Anna")
    story.expect(heard["Boris"].get("client", 0) > 0.3, "Boris heard the client")


def tell_the_report(story: Story, detail: Any) -> None:
    call = detail.call
    print(f"\nthe report: call {call.id} {call.direction} from {call.caller_number} to "
          f"{call.called_number}, {call.disposition}, employee now {call.employee}, "
          f"{call.duration:.1f} s, tags {list(detail.tags)}")
    for event in detail.events:
        if event.kind in ("ringing", "answered", "option", "trainer-joined", "trainer-left",
                          "recording", "transfer", "hangup"):
            shown = {k: v for k, v in event.detail.items() if k not in ("devices",)}
            print(f"  {event.kind:<15} {shown}")
    options = [e["option"] for e in events(detail, "option") if e.get("ok")]
    story.expect(list(detail.tags) == ["important"], "the call is tagged 'important'")
    story.expect(options == ["tag", "trainer", "record", "transfer"],
                 f"options ran in order: {options}")
    story.expect(len(detail.recordings) >= 1, "the recording is linked to the call")
    story.expect(call.employee == "102", "Boris (102) ended with the call")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("baresip",) if shutil.which(tool) is None]
    if missing:
        print(f"missing: {', '.join(missing)} (apt-get install baresip-core)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="b2bua-office-"))
    try:
        return asyncio.run(run(workdir))
    finally:
        if args.keep:
            print(f"files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
