"""A phone that sends its keys as SIP INFO (baresip-python), run as its own process:

    python -m testbed.info_phone --registrar 127.0.0.1:5060 --user 101 --password PW \
        --digits 39 --after 1.0

It registers, answers the first call, waits `--after` seconds, sends the digits, and stays until
the call ends. It prints one JSON line per step on stdout (registered, established, sent,
closed) for the test that drives it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .ports import free_port


def say(step: str, **detail: object) -> None:
    print(json.dumps({"step": step, **detail}), flush=True)


async def main(args: argparse.Namespace) -> int:
    from baresip import Account, Config, Runtime, UserAgent  # type: ignore[attr-defined]

    runtime = Runtime()
    port = free_port(step=2)
    await runtime.start(Config(net_interface="127.0.0.1",
                               extra_config_text=f"sip_listen 127.0.0.1:{port}\n"))
    try:
        agent = await UserAgent.create(runtime, Account(
            user=args.user, domain=args.registrar, password=args.password,
            dtmf_mode=args.mode, reg_interval=120))
        answered: asyncio.Queue[object] = asyncio.Queue()
        agent.on_incoming(answered.put_nowait)
        await agent.register()
        say("registered", port=port)
        call = await asyncio.wait_for(answered.get(), args.timeout)
        await call.answer()
        await call.wait_established()
        say("established")
        await asyncio.sleep(args.after)
        await call.send_dtmf(args.digits, interdigit_ms=args.gap)
        say("sent", digits=args.digits)
        for _ in range(int(args.timeout * 10)):
            if call.state.name in ("CLOSED", "TERMINATED", "ENDED"):
                break
            await asyncio.sleep(0.1)
        say("closed", state=call.state.name)
        return 0
    finally:
        await runtime.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrar", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--digits", default="1")
    parser.add_argument("--after", type=float, default=1.0)
    parser.add_argument("--gap", type=int, default=300)
    parser.add_argument("--mode", default="info", choices=["info", "rtpevent"])
    parser.add_argument("--timeout", type=float, default=20.0)
    sys.exit(asyncio.run(main(parser.parse_args())))
