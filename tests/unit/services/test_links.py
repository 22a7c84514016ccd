from __future__ import annotations

from datetime import timedelta

import pytest

from mangodesk.app import Context
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.types import CodeState
from mangodesk.services.links import LinkDecisionNeeded
from mangodesk.services.passcodes import PasscodeInput
from tests.unit.services.conftest import NOW, unit_id


def test_link_unlink_relink(ctx: Context) -> None:
    uid = unit_id(ctx, "Room 103")
    lock_id = ctx.services.links.link(uid, manual_lock_name="  Room 103   keypad ")
    row = ctx.services.units.unit(uid)
    assert (row.lock_id, row.lock_name, row.provider) == (lock_id, "Room 103 keypad", "manual")
    assert ctx.services.connections.list()[0].provider_name == "Manual"
    ctx.services.links.unlink(uid)
    assert ctx.services.units.unit(uid).status == "unlinked"
    other = ctx.services.links.link(uid, manual_lock_name="Gate")
    assert other != lock_id
    assert ctx.services.units.unit(uid).lock_name == "Gate"


def test_link_needs_exactly_one_target(ctx: Context) -> None:
    uid = unit_id(ctx, "Room 103")
    with pytest.raises(ValidationError, match="Choose a lock"):
        ctx.services.links.link(uid)
    with pytest.raises(ValidationError, match="Type a lock name"):
        ctx.services.links.link(uid, manual_lock_name="   ")


def test_unlink_with_live_codes_asks_revoke_or_keep(ctx: Context) -> None:
    uid = unit_id(ctx, "Room 103")
    ctx.services.links.link(uid, manual_lock_name="Room 103 keypad")
    code = ctx.services.passcodes.create(uid, PasscodeInput(
        NOW + timedelta(hours=1), NOW + timedelta(days=2), code="4711"))
    with pytest.raises(LinkDecisionNeeded) as caught:
        ctx.services.links.unlink(uid)
    assert caught.value.live_codes == 1
    assert ctx.services.units.unit(uid).lock_name == "Room 103 keypad"  # nothing changed
    ctx.services.links.unlink(uid, revoke_codes=False)
    kept = ctx.services.passcodes.get(code.id)
    assert kept.state == CodeState.ACTIVE and kept.managed is False


def test_unlink_revoking_codes(ctx: Context) -> None:
    uid = unit_id(ctx, "Room 103")
    ctx.services.links.link(uid, manual_lock_name="Room 103 keypad")
    code = ctx.services.passcodes.create(uid, PasscodeInput(
        NOW + timedelta(hours=1), NOW + timedelta(days=2), code="4711"))
    assert ctx.services.links.unlink(uid, revoke_codes=True) == 1
    assert ctx.services.passcodes.get(code.id).state == CodeState.REVOKED


def test_relinking_to_another_lock_with_codes_needs_the_decision(ctx: Context) -> None:
    uid = unit_id(ctx, "Room 103")
    ctx.services.links.link(uid, manual_lock_name="Old keypad")
    ctx.services.passcodes.create(uid, PasscodeInput(
        NOW + timedelta(hours=1), NOW + timedelta(days=2), code="4711"))
    with pytest.raises(LinkDecisionNeeded):
        ctx.services.links.link(uid, manual_lock_name="New keypad")
    ctx.services.links.link(uid, manual_lock_name="New keypad", revoke_codes=True)
    assert ctx.services.units.unit(uid).lock_name == "New keypad"


def test_open_alerts_count_against_the_unit_until_acknowledged(ctx: Context) -> None:
    from mangodesk.domain.types import AlertSeverity, AlertSubject
    from mangodesk.store.alerts import raise_alert

    uid = unit_id(ctx, "Room 103")
    lock_id = ctx.services.links.link(uid, manual_lock_name="Room 103 keypad")
    code = ctx.services.passcodes.create(uid, PasscodeInput(
        NOW + timedelta(hours=1), NOW + timedelta(days=2), code="4711"))
    with ctx.db.transaction() as session:
        raise_alert(session, dedupe_key="t1", severity=AlertSeverity.ERROR,
                    subject_kind=AlertSubject.CODE, subject_id=code.id,
                    message="The vendor refused the code.", fix=None, now=NOW)
        lock_alert, _ = raise_alert(session, dedupe_key="t2", severity=AlertSeverity.WARNING,
                                    subject_kind=AlertSubject.LOCK, subject_id=lock_id,
                                    message="Battery low.", fix=None, now=NOW)
        lock_alert_id = lock_alert.id
    assert ctx.services.units.unit(uid).open_alerts == 2
    assert ctx.services.units.unit(unit_id(ctx, "Room 104")).open_alerts == 0
    ctx.services.alerts.acknowledge(lock_alert_id)
    assert ctx.services.units.unit(uid).open_alerts == 1


def test_renaming_a_connection(ctx: Context) -> None:
    conn = ctx.services.connections.ensure_manual()
    renamed = ctx.services.connections.rename(conn.id, "  Keypads   main building ")
    assert renamed.display_name == "Keypads main building"
    assert ctx.services.audit.list()[0].summary == (
        "Renamed connection “Manual” to “Keypads main building”")
    with pytest.raises(ValidationError, match="Enter a name"):
        ctx.services.connections.rename(conn.id, "   ")
    assert ctx.services.connections.get(conn.id).display_name == "Keypads main building"
