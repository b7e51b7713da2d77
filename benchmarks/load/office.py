"""The B2BUA under load: a generated office configuration and a ``b2bua serve`` process.

The office has ``employees`` extensions (``10000``, ``10001``, ...) with known passwords,
one company number each (``700000`` rings ``10000``, ...), UDP only on 127.0.0.1, a large RTP
port range, and no call limit in the way. Every benchmark starts its own process in a fresh
data directory.

Profiling: with ``B2BUA_PROFILE=FILE`` in the environment of ``python -m benchmarks``, the
service runs under cProfile and writes its statistics to FILE when stopped (SIGTERM);
``python -m pstats FILE`` reads them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
FIRST_EXTENSION = 10000
FIRST_NUMBER = 700000
PROFILE_ENV = "B2BUA_PROFILE"
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def extension(index: int) -> str:
    return str(FIRST_EXTENSION + index)


def company_number(index: int) -> str:
    """The company number that rings employee `index` (one each: an employee in a call is busy,
    so a load of concurrent calls needs as many employees)."""
    return str(FIRST_NUMBER + index)


def password(ext: str) -> str:
    return f"load-{ext}-secret"


def free_udp_port() -> int:
    """A loopback port free for UDP and TCP right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as check:
            try:
                check.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port")


@dataclass(frozen=True)
class OfficeSpec:
    """What the generated configuration holds."""

    employees: int = 5
    max_calls: int = 100_000
    rtp_first: int = 10000
    rtp_last: int = 31999
    rtp_timeout: float = 60.0
    inband_detection: bool = True
    workers: int = 0
    """Media worker processes (0: media in the service's process)."""
    keys: bool = False
    """False: no in-call options bound to keys, so every key is only detected and reported."""


def office_config(spec: OfficeSpec, sip_port: int, web_port: int, data_dir: Path) -> dict[str, Any]:
    """The configuration as data (dumped to YAML for ``b2bua serve --config``)."""
    employees = [
        {"extension": extension(i), "name": f"Load {i}", "password": password(extension(i))}
        for i in range(spec.employees)
    ]
    config: dict[str, Any] = {
        "data_dir": str(data_dir),
        "sip": {"listen": "127.0.0.1", "port": sip_port, "transports": ["udp"]},
        "registrar": {"min_expires": 60, "max_expires": 7200, "default_expires": 3600},
        "media": {"address": "127.0.0.1", "rtp_ports": f"{spec.rtp_first}-{spec.rtp_last}",
                  "rtp_timeout": spec.rtp_timeout, "inband_detection": spec.inband_detection,
                  "workers": spec.workers},
        "web": {"listen": "127.0.0.1", "port": web_port},
        "employees": employees,
        "numbers": {company_number(i): {"ring": extension(i)} for i in range(spec.employees)},
        "calls": {"max_calls": spec.max_calls, "ring_timeout": 30},
    }
    if not spec.keys:
        config["keys"] = {}
    return config


@dataclass
class B2buaProcess:
    """``b2bua serve`` in its own process, on free ports, in `workdir`."""

    workdir: Path
    spec: OfficeSpec = field(default_factory=OfficeSpec)
    profile: Path | None = None
    blas_threads: int | None = 1
    source: Path = ROOT
    """Where the ``b2bua`` and ``dsp`` packages are imported from (a checkout or a snapshot)."""

    def __post_init__(self) -> None:
        self.sip_port = free_udp_port()
        self.web_port = free_udp_port()
        self.data_dir = self.workdir / "data"
        self.config_path = self.workdir / "office.yaml"
        self.log_path = self.workdir / "b2bua.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sip_port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    def command(self) -> list[str]:
        serve = ["serve", "--config", str(self.config_path), "--data-dir", str(self.data_dir),
                 "--log-level", "warning"]
        if self.profile is not None:
            runner = ("import cProfile, signal, sys; from b2bua.app.cli import main; "
                      "signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw("
                      "KeyboardInterrupt())); sys.argv = ['b2bua'] + sys.argv[2:]; "
                      "cProfile.run('main(sys.argv[1:])', sys.argv[1])")
            return [sys.executable, "-c", runner, str(self.profile), *serve]
        return [sys.executable, "-c", "import sys; from b2bua.app.cli import main; "
                "sys.exit(main(sys.argv[1:]))", *serve]

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = office_config(self.spec, self.sip_port, self.web_port, self.data_dir)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.source), env.get("PYTHONPATH")]))
        if self.blas_threads is not None:
            env.update({name: str(self.blas_threads) for name in BLAS_THREADS})
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.workdir, env=env)
        self._wait_listening(timeout)

    def _wait_listening(self, timeout: float) -> None:
        """Until the SIP socket answers an OPTIONS (or the process dies)."""
        deadline = time.monotonic() + timeout
        probe = options_probe(self.sip_port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.2)
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"b2bua exited at start:\n{self.log_tail()}")
                sock.sendto(probe(sock.getsockname()[1]), ("127.0.0.1", self.sip_port))
                with contextlib.suppress(TimeoutError, ConnectionRefusedError):
                    if sock.recv(65535).startswith(b"SIP/2.0"):
                        return
        raise RuntimeError(f"b2bua did not answer on {self.address}:\n{self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-size:]

    def stop(self, timeout: float = 30.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self) -> B2buaProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def options_probe(sip_port: int) -> Any:
    def build(local_port: int) -> bytes:
        branch = f"z9hG4bK-probe-{time.monotonic_ns()}"
        return (
            f"OPTIONS sip:127.0.0.1:{sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@127.0.0.1:{local_port}>;tag=probe\r\n"
            f"To: <sip:127.0.0.1:{sip_port}>\r\n"
            f"Call-ID: {branch}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()

    return build
