"""Issue #18 (load test's promise, in small): two desks editing one passcode never lose an
update. Each desk saves with the version it showed; the second save over a changed code is
refused with words that say what to do, and the first desk's change survives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mangodesk.app import Context, build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.errors import ChangedElsewhereError
from mangodesk.paths import Paths
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings
from mangodesk.store.db import Database
from mangodesk.store.secrets import SecretStore
from tests.fakes.pg import throwaway_database
from tests.unit.services.conftest import NOW, unit_id

START = NOW + timedelta(days=1)
END = NOW + timedelta(days=3)
MESSAGE = (
    "This passcode was changed after you opened it, at another desk or by the automation — "
    "reload and try again.")


def two_desks(base: Path, settings: Settings, secrets: SecretStore,
              clock: FixedClock) -> tuple[Context, Context, int]:
    """Reception and the back office on one database, and a passcode both show."""
    assert settings.database_url is not None
    owner = Database(settings.database_url)  # a shared schema is upgraded explicitly, once
    owner.upgrade()
    owner.dispose()
    reception = build_context(Paths.under(base / "reception"), settings, secrets=secrets,
                              clock=clock, actor="Anna")
    seed_hotel(reception, clock.now())
    back_office = build_context(Paths.under(base / "back-office"), settings, secrets=secrets,
                                clock=clock, actor="Ben")
    uid = unit_id(reception, "Room 101")
    reception.services.links.link(uid, manual_lock_name="Front Door")
    code = reception.services.passcodes.create(uid, PasscodeInput(START, END, code="8675"))
    return reception, back_office, code.id


@pytest.fixture
def sqlite_desks(tmp_path: Path, secret_store: SecretStore,
                 now_clock: FixedClock) -> Iterator[tuple[Context, Context, int]]:
    database = tmp_path / "shared.sqlite"
    desks = two_desks(tmp_path, Settings(database_url=f"sqlite:///{database}"), secret_store,
                      now_clock)
    yield desks
    desks[0].close()
    desks[1].close()


def test_saving_over_a_code_another_desk_changed_is_refused_and_keeps_its_change(
        sqlite_desks: tuple[Context, Context, int]) -> None:
    reception, back_office, code_id = sqlite_desks
    shown_at_reception = reception.services.passcodes.get(code_id)
    shown_at_back_office = back_office.services.passcodes.get(code_id)
    assert shown_at_reception.version == shown_at_back_office.version

    saved = reception.services.passcodes.edit(
        code_id, PasscodeInput(START, END + timedelta(days=1), code="8675"),
        expected_version=shown_at_reception.version)
    assert saved.version > shown_at_reception.version
    with pytest.raises(ChangedElsewhereError) as caught:
        back_office.services.passcodes.edit(
            code_id, PasscodeInput(START, END, code="4321"),
            expected_version=shown_at_back_office.version)
    assert caught.value.message == MESSAGE
    assert caught.value.fix and "open it again" in caught.value.fix
    kept = back_office.services.passcodes.get(code_id)
    assert (kept.code, kept.valid_to) == ("8675", END + timedelta(days=1))

    # Reloaded, the back office sees the change and may save its own.
    again = back_office.services.passcodes.edit(
        code_id, PasscodeInput(START, END + timedelta(days=1), code="4321"),
        expected_version=kept.version)
    assert again.code == "4321"
    with pytest.raises(ChangedElsewhereError):
        reception.services.passcodes.revoke(code_id, expected_version=saved.version)
    assert reception.services.passcodes.revoke(
        code_id, expected_version=again.version).state.value == "revoked"


def test_an_edit_without_a_version_still_moves_it(
        sqlite_desks: tuple[Context, Context, int]) -> None:
    """The CLI edits without one: a desk showing the code must still hear it changed."""
    reception, back_office, code_id = sqlite_desks
    shown = back_office.services.passcodes.get(code_id)
    reception.services.passcodes.edit(code_id, PasscodeInput(START, END, code="1122"))
    with pytest.raises(ChangedElsewhereError):
        back_office.services.passcodes.edit(code_id, PasscodeInput(START, END, code="3344"),
                                            expected_version=shown.version)


def test_two_desks_saving_the_same_code_at_once_on_postgresql_one_wins(
        tmp_path: Path, secret_store: SecretStore, now_clock: FixedClock) -> None:
    with throwaway_database() as url:
        reception, back_office, code_id = two_desks(tmp_path, Settings(database_url=url),
                                                    secret_store, now_clock)
        try:
            version = reception.services.passcodes.get(code_id).version
            start = threading.Barrier(2)
            outcomes: dict[str, str] = {}

            def save(desk: Context, pin: str) -> None:
                start.wait(5)
                try:
                    desk.services.passcodes.edit(code_id, PasscodeInput(START, END, code=pin),
                                                 expected_version=version)
                    outcomes[pin] = "saved"
                except ChangedElsewhereError:
                    outcomes[pin] = "refused"

            threads = [threading.Thread(target=save, args=(reception, "5555")),
                       threading.Thread(target=save, args=(back_office, "6666"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
            assert sorted(outcomes.values()) == ["refused", "saved"]
            (winner,) = [pin for pin, outcome in outcomes.items() if outcome == "saved"]
            assert back_office.services.passcodes.get(code_id).code == winner
        finally:
            reception.close()
            back_office.close()


def test_linking_a_unit_another_desk_linked_meanwhile_is_refused_and_keeps_its_link(
        sqlite_desks: tuple[Context, Context, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Reception decides to link Room 102 while the back office links it elsewhere: the
    reception's swap must not silently undo the back office's link."""
    reception, back_office, _ = sqlite_desks
    uid = unit_id(reception, "Room 102")
    links = reception.services.links
    fetch = links._fetch_existing

    def meanwhile_at_the_back_office(*args: object, **kwargs: object) -> object:
        back_office.services.links.link(uid, manual_lock_name="Side Door")
        return fetch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(links, "_fetch_existing", meanwhile_at_the_back_office)
    with pytest.raises(ChangedElsewhereError) as caught:
        links.link(uid, manual_lock_name="Front Door", shared=True)
    assert caught.value.message == (
        "The lock of Room 102 was changed at another desk — reload and try again.")
    (row,) = [r for r in back_office.services.units.list_units() if r.id == uid]
    assert row.lock_name == "Side Door"
