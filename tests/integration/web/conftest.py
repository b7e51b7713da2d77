"""The admin web application served on loopback against a small real service control: the demo
office configuration and a real SQLite store in a temporary data directory."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from b2bua.app.config import Config, apply_overrides, load_config, parse_config
from b2bua.store import Binding, CallRecord, SqliteStore, open_store
from b2bua.web import create_app

TOKEN = "test-token-0123456789abcdef"
NOW = 1_700_000_000.0
EMPLOYEE_PASSWORD = "pw-of-anna-101"


def office_with_secrets() -> Config:
    """The demo office, with a password for 101 and a configured API token (secrets the API
    must never show)."""
    data = load_config(None).model_dump(mode="json")
    data["employees"][0]["password"] = EMPLOYEE_PASSWORD
    data["web"]["api_token"] = TOKEN
    return parse_config(data)


class OfficeControl:
    """``ServiceControl`` over a real store: settings go through ``apply_overrides`` and are
    kept in the store; live calls are a table the test fills; pressing a key applies the
    tag option to the report and records every other option as used."""

    def __init__(self, data_dir: Path, config: Config) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._file_config = config
        self._config = config
        self._store = open_store(data_dir)
        self._data_dir = data_dir
        self.live: dict[str, dict[str, Any]] = {}
        self.samples: dict[str, float] = {}

    @property
    def config(self) -> Config:
        return self._config

    @property
    def store(self) -> SqliteStore:
        return self._store

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def api_token(self) -> str:
        return TOKEN

    def apply_settings(self, section: str, value: Any) -> Config:
        config = apply_overrides(self._config, {section: value})
        self._store.set_setting(section, config.model_dump(mode="json")[section], NOW)
        self._config = config
        return config

    def reset_settings(self, section: str) -> Config:
        self._store.delete_setting(section)
        self._config = apply_overrides(self._file_config, self._store.list_settings())
        return self._config

    def live_calls(self) -> list[dict[str, Any]]:
        return [dict(call) for call in self.live.values()]

    def press_key(self, call_id: str, key: str) -> dict[str, Any]:
        call = self.live[call_id]
        option = self._config.keys.get(key)
        if option is None:
            raise ValueError(f"key {key!r} starts no option")
        if option.option == "tag":
            self._store.add_call_tag(call_id, option.tag, NOW)
        call["options"] = [*call["options"], option.option]
        return {"option": option.option, "done": True}

    def metrics(self) -> dict[str, float]:
        return {"b2bua_calls_active": float(len(self.live)), **self.samples}

    def close(self) -> None:
        self._store.close()


@pytest.fixture
def control(tmp_path: Path) -> Iterator[OfficeControl]:
    made = OfficeControl(tmp_path / "data", office_with_secrets())
    yield made
    made.close()


def write_wav(path: Path, frames: bytes, channels: int = 2) -> bytes:
    """A small 8 kHz 16-bit WAV file; answers its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(frames)
    return path.read_bytes()


@pytest.fixture
def report(control: OfficeControl) -> dict[str, Any]:
    """Three calls in the report: an older inbound call to 101 tagged and recorded, a newer
    one to 102 with an option used, an outbound call of 101."""
    store = control.store
    store.create_call(CallRecord(
        id="c-old", started_at=NOW - 3600, direction="inbound", caller_number="+79161234567",
        called_number="7000", employee="101", answered_at=NOW - 3590, ended_at=NOW - 3500,
        disposition="answered", hangup_side="caller", duration=90.0,
    ))
    store.add_call_event("c-old", NOW - 3590, "answered", {"device": "sip:101@127.0.0.1"})
    store.add_call_event("c-old", NOW - 3550, "option", {"option": "record", "key": "7"})
    store.add_call_tag("c-old", "important", NOW - 3540)
    path = control.config.recording.directory_in(control.data_dir) / "c-old.wav"
    wav = write_wav(path, bytes(range(256)) * 40)
    recording = store.add_recording("c-old", str(path), NOW - 3550, 2, "stereo-wav")
    store.finish_recording(recording.id, NOW - 3500, len(wav))
    store.create_call(CallRecord(
        id="c-new", started_at=NOW - 60, direction="inbound", caller_number="+74951112233",
        called_number="7001", employee="102", disposition="answered", duration=30.0,
    ))
    store.add_call_event("c-new", NOW - 50, "option", {"option": "contact", "key": "6"})
    store.create_call(CallRecord(
        id="c-out", started_at=NOW - 600, direction="outbound", caller_number="101",
        called_number="+79990001122", employee="101", disposition="no-answer",
    ))
    return {"wav": wav, "recording_id": recording.id, "recording_path": path}


@pytest.fixture
def registered(control: OfficeControl) -> Binding:
    binding = Binding(
        aor="101", contact_uri="sip:101@127.0.0.1:5062", transport="udp",
        source_host="127.0.0.1", source_port=5062, expires_at=NOW + 3600, call_id="reg-1",
        cseq=1, user_agent="baresip",
    )
    control.store.save_binding(binding)
    return binding


class Api:
    """The test client with the API token sent on every request."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Request and check the status; answers the JSON body."""
        response = await self.request(method, path, **kwargs)
        body = await response.json()
        assert response.status == status, body
        return body


@pytest.fixture
async def client(control: OfficeControl) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(control, clock=lambda: NOW)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient[Any, Any]) -> Api:
    return Api(client)
