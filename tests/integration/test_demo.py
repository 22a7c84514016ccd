"""The demo profile end to end: simulated PMS and every simulated vendor, on loopback."""

from __future__ import annotations

from pathlib import Path

from mangodesk.app import attach_engine
from mangodesk.demo import start_demo
from mangodesk.domain.template import NO_CODE_TEXT, TemplateContext
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings


def test_demo_syncs_connects_every_provider_and_issues_codes(tmp_path: Path) -> None:
    demo = start_demo(Paths.under(tmp_path), Settings())
    context = demo.context
    try:
        services = context.services
        kinds = {c.kind for c in services.connections.list()}
        assert kinds == set(VendorKind)
        rows = services.units.list_units()
        assert len(rows) > 16  # rooms, an apartment, a dorm with beds, from the Beds24 sync
        engine = attach_engine(context)
        engine.plan_and_enqueue()
        engine.run_due()
        rows = services.units.list_units()
        automated = [r for r in rows if r.provider not in (None, VendorKind.MANUAL)]
        assert automated, "the demo links units to simulated vendor locks"
        issued = [r for r in automated if r.code or r.mobile_key_sent_to]
        assert issued, "the engine issued codes on the simulated locks"
        assert not [r for r in rows if r.status == "failed"]
        assert services.alerts.list() == []
        unit = issued[0]
        bookings = [b for b in services.units.bookings() if unit.name in b.unit_names]
        texts = [services.messages.render_access_codes(b.id, TemplateContext.SCHEDULED_CHECKIN)
                 for b in bookings]
        assert any(t.startswith(f"{unit.name}: ") and NO_CODE_TEXT not in t for t in texts)
    finally:
        context.close()
