"""The always-on service's installation files: the systemd units (user and system) written by
``mangodesk service install`` pass ``systemd-analyze verify``, and the Windows service's WinSW
configuration written by the packaging build is well-formed, uses only WinSW's elements, and
starts and stops ``mangodesk`` with arguments the command line accepts."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mangodesk.__main__ import main
from mangodesk.cli import build_parser
from mangodesk.service_units import mangodesk_command, systemd_unit, winsw_xml

# The elements of WinSW 2's configuration file (docs/xml-config-file.md in winsw/winsw).
WINSW_ELEMENTS = {
    "id", "name", "description", "executable", "arguments", "startarguments",
    "stopexecutable", "stoparguments", "stoptimeout", "startmode", "delayedAutoStart",
    "depend", "logpath", "log", "env", "onfailure", "resetfailure", "serviceaccount",
    "workingdirectory", "priority", "interactive", "beeponshutdown", "download",
    "stopparentprocessfirst", "hidewindow", "prestart", "poststart", "prestop", "poststop",
}
WINSW_LOG_MODES = {"append", "reset", "none", "roll", "roll-by-size", "roll-by-time",
                   "roll-by-size-time", "rotate"}


def _verify(unit_file: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    done = subprocess.run([analyze, "verify", str(unit_file)], capture_output=True, text=True,
                          timeout=60, check=False)
    # verify exits 0 even for a unit it only warns about: any line about our file fails.
    ours = [line for line in (done.stderr + done.stdout).splitlines()
            if unit_file.name in line or str(unit_file) in line]
    assert done.returncode == 0 and not ours, done.stderr


def _exec_args(unit: str, key: str) -> list[str]:
    line = next(line for line in unit.splitlines() if line.startswith(f"{key}="))
    return shlex.split(line.split("=", 1)[1].replace("%%", "%"))


def test_service_install_writes_a_user_unit_that_systemd_accepts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "profile with space"
    units = tmp_path / "units"
    assert main(["--data-dir", str(profile), "service", "install", "--user",
                 "--unit-dir", str(units)]) == 0
    out = capsys.readouterr().out
    assert "systemctl --user enable --now mangodesk.service" in out
    unit_file = units / "mangodesk.service"
    unit = unit_file.read_text(encoding="utf-8")
    assert "WantedBy=default.target" in unit and "User=" not in unit
    start, stop = _exec_args(unit, "ExecStart"), _exec_args(unit, "ExecStop")
    assert start[:len(mangodesk_command())] == mangodesk_command()
    args = start[len(mangodesk_command()):]
    assert args == ["--data-dir", str(profile.resolve()), "run"]
    assert stop[len(mangodesk_command()):] == [*args, "--stop"]
    parsed = build_parser().parse_args(args)  # the command line accepts what systemd runs
    assert parsed.command == "run" and parsed.data_dir == profile.resolve()
    _verify(unit_file)


def test_the_system_unit_runs_as_its_own_account(tmp_path: Path) -> None:
    unit_file = tmp_path / "mangodesk.service"
    unit_file.write_text(systemd_unit(mangodesk_command(), system_user="root"),
                         encoding="utf-8")
    unit = unit_file.read_text(encoding="utf-8")
    assert "User=root" in unit and "WantedBy=multi-user.target" in unit
    assert "NoNewPrivileges=yes" in unit
    _verify(unit_file)


def test_a_broken_unit_is_caught_by_the_check(tmp_path: Path) -> None:
    unit_file = tmp_path / "mangodesk.service"
    unit_file.write_text(systemd_unit(mangodesk_command()).replace("Type=simple",
                                                                   "Type=simpel"),
                         encoding="utf-8")
    with pytest.raises(AssertionError):
        _verify(unit_file)


@pytest.mark.parametrize("name", ["mangodesk.service", "mangodesk-system.service"])
def test_the_shipped_units_run_mangodesk_run_and_pass_the_check(
        name: str, tmp_path: Path) -> None:
    shipped = (Path(__file__).resolve().parents[2] / "packaging" / "linux"
               / name).read_text(encoding="utf-8")
    start, stop = _exec_args(shipped, "ExecStart"), _exec_args(shipped, "ExecStop")
    assert start[-1] == "run" and stop[-2:] == ["run", "--stop"] and start[:-1] == stop[:-2]
    assert build_parser().parse_args(start[1:]).command == "run"
    # Checked as installed: the folder's mangodesk stands in for this Python.
    installed = shipped.replace(start[0], sys.executable).replace("User=mangodesk", "User=root")
    installed = installed.replace("Group=mangodesk", "Group=root")
    unit_file = tmp_path / "mangodesk.service"
    unit_file.write_text(installed, encoding="utf-8")
    _verify(unit_file)


def test_the_windows_service_configuration_is_valid_winsw(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mangodesk-service.xml"
    assert main(["--data-dir", str(tmp_path / "p"), "service", "windows-xml",
                 "--output", str(target)]) == 0
    assert capsys.readouterr().out == f"Wrote {target}.\n"
    root = ET.parse(target).getroot()  # noqa: S314 - our own generated file
    assert root.tag == "service"
    names = [child.tag for child in root]
    assert set(names) <= WINSW_ELEMENTS, set(names) - WINSW_ELEMENTS
    fields = {child.tag: (child.text or "").strip() for child in root}
    assert fields["id"] == "mangodesk" and fields["id"].isalnum()
    assert fields["executable"] == fields["stopexecutable"] == "%BASE%\\mangodesk.exe"
    # WinSW wants startarguments (not arguments) when stoparguments is set.
    assert "arguments" not in fields
    for key, wanted in (("startarguments", "run"), ("stoparguments", "run")):
        parsed = build_parser().parse_args(shlex.split(fields[key]))
        assert parsed.command == wanted
    assert build_parser().parse_args(shlex.split(fields["stoparguments"])).stop is True
    assert fields["startmode"] in ("Automatic", "Manual")
    (log,) = root.findall("log")
    assert log.get("mode") in WINSW_LOG_MODES
    assert all(f.get("action") == "restart" for f in root.findall("onfailure"))
    assert winsw_xml(data_dir="C:\\Hotel & Co").count("&amp;") == 2  # escaped, still XML
    ET.fromstring(winsw_xml(data_dir="C:\\Hotel & Co"))  # noqa: S314 - generated here
    assert main(["--data-dir", str(tmp_path / "p"), "service", "windows-xml"]) == 0
    assert capsys.readouterr().out == target.read_text(encoding="utf-8")


def test_the_windows_installer_ships_and_registers_the_service() -> None:
    iss = (Path(__file__).resolve().parents[2] / "packaging" / "windows"
           / "mangodesk.iss").read_text(encoding="utf-8")
    assert 'DestName: "mangodesk-service.exe"' in iss
    assert 'Source: "mangodesk-service.xml"' in iss
    assert "service windows-xml --output packaging\\windows\\mangodesk-service.xml" in iss
    for action in ("install", "start", "stop", "uninstall"):
        assert f'Filename: "{{app}}\\mangodesk-service.exe"; Parameters: "{action}"' in iss
