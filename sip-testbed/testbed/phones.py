"""Phones for an office under test: SIPp user agents registered as extensions."""

from __future__ import annotations

from pathlib import Path

from .office import PASSWORDS
from .sipp import Sipp


async def register(workdir: Path, registrar: str, extension: str, contact: str,
                   expires: int = 300, password: str | None = None) -> None:
    """REGISTER `contact` (host:port) as `extension` with SIPp; raise if refused."""
    sipp = Sipp(workdir / f"register-{extension}", "register.xml", registrar, args=[
        "-s", extension, "-au", extension, "-ap", password or PASSWORDS[extension],
        "-key", "contact", contact, "-key", "expires", str(expires), "-m", "1",
        "-timeout", "10",
    ])
    result = await sipp.run(15)
    if result.returncode != 0:
        raise RuntimeError(f"registration of {extension} failed: {result.summary()}")


async def sipp_phone(workdir: Path, registrar: str, extension: str, scenario: str,
                     args: list[str] | None = None) -> Sipp:
    """A SIPp UAS running `scenario`, registered as `extension`; started, not yet waited."""
    phone = Sipp(workdir / f"phone-{extension}", scenario, None, args=args or [])
    await phone.start()
    await register(workdir, registrar, extension, f"127.0.0.1:{phone.port}")
    return phone
