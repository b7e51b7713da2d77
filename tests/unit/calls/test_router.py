"""Routing decisions against a real store and the demo office configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2bua.app.config import Config
from b2bua.app.defaults import default_office
from b2bua.calls.router import Router
from b2bua.store import BlacklistEntry, Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path)
    yield opened
    opened.close()


def router(store: Store, config: Config | None = None) -> Router:
    office = config or default_office()
    return Router(lambda: office, store)


def test_company_number_rings_its_extension(store: Store) -> None:
    route = router(store).inbound("+79161234567", "7000")
    assert route.kind == "ring"
    assert [(s.extensions, s.reason) for s in route.steps] == [(("101",), "extension")]
    assert route.steps[0].timeout == 30


def test_group_number_rings_every_member(store: Store) -> None:
    route = router(store).inbound("+79161234567", "7001")
    assert [s.extensions for s in route.steps] == [("103", "104")]


def test_blacklisted_caller_is_refused_with_configured_status(store: Store) -> None:
    store.add_to_blacklist(BlacklistEntry("+79161234567", 0.0))
    route = router(store).inbound("+7 (916) 123-45-67", "7000")
    assert (route.kind, route.status, route.disposition) == ("reject", 603, "blacklisted")


def test_personal_manager_rings_first_then_the_number(store: Store) -> None:
    store.set_manager("+79161234567", "102", 0.0)
    route = router(store).inbound("+79161234567", "7000")
    assert [(s.extensions, s.reason, s.timeout) for s in route.steps] == [
        (("102",), "manager", 15), (("101",), "extension", 30)]


def test_manager_who_is_the_target_rings_once(store: Store) -> None:
    store.set_manager("+79161234567", "101", 0.0)
    route = router(store).inbound("+79161234567", "7000")
    assert [s.reason for s in route.steps] == ["extension"]


def test_scenario_number(store: Store) -> None:
    route = router(store).inbound("+79161234567", "+74957000000")
    assert (route.kind, route.scenario) == ("scenario", "welcome")


def test_unknown_number_is_404(store: Store) -> None:
    assert router(store).inbound("1", "5555").status == 404


def test_outbound_internal_and_loop(store: Store) -> None:
    assert router(store).outbound("101", "103").steps[0].extensions == ("103",)
    assert router(store).outbound("101", "101").status == 482


def test_trunk_numbers_only_for_employees(store: Store) -> None:
    office = default_office().model_copy(update={"trunk": None})
    from b2bua.app.config import apply_overrides

    with_trunk = apply_overrides(office, {"trunk": {"host": "127.0.0.1"}})
    assert router(store, with_trunk).outbound("101", "+79990001122").kind == "trunk"
    refused = router(store, with_trunk).inbound("+79161234567", "+79990001122")
    assert (refused.kind, refused.status) == ("reject", 403)
    assert router(store, office).outbound("101", "+79990001122").status == 404
