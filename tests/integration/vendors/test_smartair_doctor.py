"""The Smartair connection doctor, run as installers run it: the CLI against the simulator.

Each failure step is provoked for real (closed port, plain HTTP where HTTPS is expected, a
new certificate, a wrong context root, a SOAP fault, a wrong password, no licence, no rooms).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mangodesk.cli import build_parser
from mangodesk.domain.clock import SystemClock
from mangodesk.sim.smartair import DEMO_OPERATOR, DEMO_PASSWORD, Fault, SmartairSimulator
from mangodesk.vendors.smartair.doctor import run_doctor


@pytest.fixture
def sim() -> Iterator[SmartairSimulator]:
    simulator = SmartairSimulator(clock=SystemClock())  # its clock agrees with the doctor's
    simulator.start()
    yield simulator
    simulator.stop()


def doctor_cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    address: str,
    *extra: str,
    password: str = DEMO_PASSWORD,
) -> tuple[int, str]:
    monkeypatch.setenv("MANGODESK_OPERATOR_PASSWORD", password)
    args = build_parser().parse_args(
        ["smartair-doctor", address, "--operator", DEMO_OPERATOR, "--timeout", "5", *extra]
    )

    def no_context() -> Any:
        raise AssertionError("the doctor needs no profile")

    code = int(args.func(args, no_context))
    output = capsys.readouterr().out
    print(output)  # shown with -s; the report quotes these transcripts
    return code, output


def failed_step(output: str) -> str:
    return next(line for line in output.splitlines() if "[FAIL]" in line)


def test_all_steps_pass(sim: SmartairSimulator, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert sim.certificate_fingerprint is not None
    code, out = doctor_cli(capsys, monkeypatch, sim.address,
                           "--fingerprint", sim.certificate_fingerprint)
    assert code == 0
    assert out.count("[OK  ]") == 9 and "[FAIL]" not in out and "[WARN]" not in out
    assert "Smartair Server Platform 5.61" in out and "13 rooms found" in out
    assert DEMO_PASSWORD not in out


def test_name_that_does_not_resolve(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def nowhere(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)
    code, out = doctor_cli(capsys, monkeypatch, "smartair-server.invalid")
    assert code == 1
    assert "Server address" in failed_step(out) and "IP address" in out


def test_closed_port(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = doctor_cli(capsys, monkeypatch, f"127.0.0.1:{port}")
    assert code == 1
    assert "Network port" in failed_step(out) and "firewall" in out


def test_port_without_https(capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    with SmartairSimulator(use_tls=False) as plain:
        code, out = doctor_cli(capsys, monkeypatch, plain.address)
    assert code == 1
    assert "does not speak HTTPS" in failed_step(out)


def test_first_connect_shows_the_fingerprint_to_accept(
    sim: SmartairSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = doctor_cli(capsys, monkeypatch, sim.address)
    assert code == 1
    assert sim.certificate_fingerprint is not None
    assert "not trusted yet" in failed_step(out)
    assert f"--fingerprint {sim.certificate_fingerprint}" in out
    assert sim.calls == []  # no SOAP request, so no password, before the certificate is accepted


def test_changed_certificate_is_a_warning_that_stops(
    sim: SmartairSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = sim.certificate_fingerprint
    assert accepted is not None
    sim.replace_certificate()
    code, out = doctor_cli(capsys, monkeypatch, sim.address, "--fingerprint", accepted)
    assert code == 1
    assert "CHANGED" in failed_step(out) and "impersonating" in out
    assert sim.calls == []


def test_web_services_not_found_under_any_known_root(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmartairSimulator(base_path="SomeOtherRoot") as odd:
        assert odd.certificate_fingerprint is not None
        code, out = doctor_cli(capsys, monkeypatch, odd.address,
                               "--fingerprint", odd.certificate_fingerprint)
    assert code == 1
    assert "Web services" in failed_step(out)
    assert "/ServerPlatform, /TesaHotelPlatform, /TesaSmartairPlatform" in out


def test_get_version_failing(sim: SmartairSimulator, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    sim.inject("getVersion", Fault(soap_fault=True))
    assert sim.certificate_fingerprint is not None
    code, out = doctor_cli(capsys, monkeypatch, sim.address,
                           "--fingerprint", sim.certificate_fingerprint)
    assert code == 1
    assert "Smartair version" in failed_step(out)


def test_wrong_operator_password(sim: SmartairSimulator, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert sim.certificate_fingerprint is not None
    code, out = doctor_cli(capsys, monkeypatch, sim.address, "--fingerprint",
                           sim.certificate_fingerprint, password="not-the-password")
    assert code == 1
    assert "Operator login" in failed_step(out)
    assert "not-the-password" not in out


def test_licence_without_the_soap_feature(
    sim: SmartairSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.licensed = False
    assert sim.certificate_fingerprint is not None
    code, out = doctor_cli(capsys, monkeypatch, sim.address,
                           "--fingerprint", sim.certificate_fingerprint)
    assert code == 1
    assert "Web-services licence" in failed_step(out) and "SOAP API" in out


def test_no_rooms_for_this_operator(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with SmartairSimulator(rooms=[]) as empty:
        assert empty.certificate_fingerprint is not None
        code, out = doctor_cli(capsys, monkeypatch, empty.address,
                               "--fingerprint", empty.certificate_fingerprint)
    assert code == 1
    assert "Rooms" in failed_step(out)


def test_report_details_carry_what_the_wizard_stores(sim: SmartairSimulator) -> None:
    report = run_doctor(sim.address, DEMO_OPERATOR, DEMO_PASSWORD, {})
    assert not report.ok
    assert report.details["certificate_fingerprint"] == sim.certificate_fingerprint
    assert report.details["needs_certificate_acceptance"] == "true"
    accepted = run_doctor(sim.address, DEMO_OPERATOR, DEMO_PASSWORD,
                          {"pinned_sha256": report.details["certificate_fingerprint"]})
    assert accepted.ok, accepted.summary
    assert accepted.details["base_path"] == "ServerPlatform"
    assert accepted.details["site_name"] == "Demo Hotel"
    assert [step.ok for step in accepted.steps] == [True] * 9


def test_bad_fingerprint_argument_is_bad_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANGODESK_OPERATOR_PASSWORD", "x")
    args = build_parser().parse_args(
        ["smartair-doctor", "127.0.0.1", "--operator", "op", "--fingerprint", "AB:CD"]
    )
    assert args.func(args, lambda: None) == 2
    assert "64 hexadecimal digits" in capsys.readouterr().err


class ShiftedClock:
    """A server clock that runs ahead of this computer's."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def test_the_cli_shows_the_server_clock_and_warns_about_a_skew(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmartairSimulator(clock=ShiftedClock(timedelta(minutes=7, seconds=5))) as fast:
        assert fast.certificate_fingerprint is not None
        code, out = doctor_cli(capsys, monkeypatch, fast.address, "--fingerprint",
                               fast.certificate_fingerprint, "--timezone", "UTC")
    assert code == 0  # a warning is not a failure
    line = next(line for line in out.splitlines() if "Server clock" in line)
    assert line.lstrip().startswith("[WARN]")
    assert "(UTC+00:00, as the server reports it)" in line
    assert "7 minutes ahead of this computer's clock" in line
    assert "1 warning" in out


def test_the_cli_zone_option_reads_a_local_time_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmartairSimulator(clock=SystemClock(), local_zone="Europe/Madrid") as local:
        assert local.certificate_fingerprint is not None
        fingerprint = local.certificate_fingerprint
        _, right = doctor_cli(capsys, monkeypatch, local.address, "--fingerprint", fingerprint,
                              "--timezone", "Europe/Madrid")
        _, wrong = doctor_cli(capsys, monkeypatch, local.address, "--fingerprint", fingerprint,
                              "--timezone", "UTC")
        code, bad = doctor_cli(capsys, monkeypatch, local.address, "--fingerprint", fingerprint,
                               "--timezone", "Mars/Olympus")
    assert "[OK  ] Server clock" in right and "agrees" in right
    assert "[WARN] Server clock" in wrong and "hour" in wrong and "Server time zone" in wrong
    assert code == 1 and "[FAIL] Server clock" in bad and "Mars/Olympus" in bad


def test_a_server_without_a_guests_wsdl_is_a_warning_not_a_failure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmartairSimulator(clock=SystemClock(), publishes_guests_wsdl=False,
                           result_element="return") as odd:
        assert odd.certificate_fingerprint is not None
        code, out = doctor_cli(capsys, monkeypatch, odd.address, "--fingerprint",
                               odd.certificate_fingerprint, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"]
    warnings = {step["name"] for step in report["steps"] if step["warning"]}
    assert warnings == {"Web services", "Answer format"}
