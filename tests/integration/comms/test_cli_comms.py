"""``templates``, ``template-show``, ``template-save``, ``messages``, ``message-send``,
``smtp-set`` and ``smtp-test`` against a real local SMTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.demo import seed_hotel, seed_manual_locks
from mangodesk.domain.clock import SystemClock
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from tests.integration.comms import smtp_server
from tests.integration.comms.smtp_server import Handler


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    base = tmp_path / "desk"
    context = build_context(Paths.under(base), Settings(), actor="setup")
    seed_hotel(context, SystemClock().now())
    seed_manual_locks(context, SystemClock().now())
    context.close()
    return base


@pytest.fixture
def sink() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    controller = smtp_server.start_plain(handler)
    yield handler, int(controller.port)
    controller.stop()


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def save_template(data_dir: Path, tmp_path: Path, body: str, *extra: str) -> int:
    text = tmp_path / "body.txt"
    text.write_text(body, encoding="utf-8")
    return run(data_dir, "template-save", "Codes", "--context", "scheduled_checkin",
               "--subject", "Welcome {{guest_name}}", "--body-file", str(text), *extra)


def test_unknown_variable_refused_and_nothing_saved(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert save_template(data_dir, tmp_path, "Your code: {{door_code}}") == 2
    err = capsys.readouterr().err
    assert "{{door_code}}" in err and "{{smart_lock_access_codes}}" in err
    assert run(data_dir, "templates") == 0
    assert "No message templates yet" in capsys.readouterr().out


def test_codes_refused_in_a_cancellation(data_dir: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "c.txt"
    text.write_text("Sorry\n{{smart_lock_access_codes}}", encoding="utf-8")
    assert run(data_dir, "template-save", "Cancel", "--context", "cancellation",
               "--subject", "Cancelled", "--body-file", str(text)) == 2
    assert "cancellation emails" in capsys.readouterr().err


def test_template_schedule_warning_and_show(data_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert save_template(data_dir, tmp_path, "{{smart_lock_access_codes}}",
                         "--days-before", "3", "--at", "10:00") == 0
    capsys.readouterr()
    assert run(data_dir, "templates") == 0
    out = capsys.readouterr().out
    assert "3 day(s) before check-in, at 10:00 hotel time" in out
    assert "earlier than door codes are made" in out
    assert run(data_dir, "template-show", "Codes") == 0
    assert "Subject: Welcome {{guest_name}}" in capsys.readouterr().out
    assert run(data_dir, "template-show", "Nope") == 2


def test_smtp_set_test_send_and_log(data_dir: Path, tmp_path: Path, sink: tuple[Handler, int],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    handler, port = sink
    assert run(data_dir, "smtp-set", "--host", "mail.hotel.example", "--security", "none",
               "--from", "desk@hotel.example") == 2
    assert "must be encrypted" in capsys.readouterr().err
    assert run(data_dir, "smtp-set", "--host", "127.0.0.1", "--port", str(port),
               "--security", "none", "--from", "desk@hotel.example") == 0
    assert run(data_dir, "smtp-test", "--to", "it@hotel.example") == 0
    out = capsys.readouterr().out
    assert "OK  Sender" in out and "OK  Test message" in out
    assert len(handler.received) == 1
    assert save_template(data_dir, tmp_path, "Dear {{guest_name}}\n{{smart_lock_access_codes}}"
                         ) == 0
    assert run(data_dir, "message-send", "B-1003", "--template", "Codes", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Room 103: •••7" in out and "5307" not in out
    assert len(handler.received) == 1  # a dry run sends nothing
    assert run(data_dir, "message-send", "B-1003", "--template", "Codes") == 0
    assert "Sent to guest3@example.com" in capsys.readouterr().out
    assert "Room 103: 5307" in handler.received[-1].get_content()
    assert run(data_dir, "messages", "--booking", "B-1003", "--json") == 0
    [logged] = json.loads(capsys.readouterr().out)
    assert logged["status"] == "sent" and "5307" not in logged["body_masked"]
    assert run(data_dir, "messages", "--booking", "B-9999") == 2
