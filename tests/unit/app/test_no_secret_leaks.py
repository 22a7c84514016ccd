"""No secret ever reaches the database file, the settings file or the log file."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mangodesk.app import build_context
from mangodesk.cli.runtime import setup_logging
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings, save_settings
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.base import (
    Capabilities,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    CredentialField,
    LockDetails,
    LockInfo,
    ProviderSpec,
    SentCodeMatcher,
    VendorCode,
)
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry

PASSWORD = "Pa55-w0rd-that-must-never-leak"
TOKEN = "tok_6d1f0e0c2b1f4a8eb1c7"

log = logging.getLogger("tests.leaky_vendor")


class ChattyAdapter(SentCodeMatcher):
    """A vendor adapter that logs a lot, as a real one does at debug level."""

    kind = VendorKind.INLET
    capabilities = Capabilities(automated=True)

    def __init__(self, config: ConnectionConfig) -> None:
        assert config.secrets["password"] == PASSWORD
        log.debug("connecting with settings %s", dict(config.settings))

    def test_connection(self) -> ConnectionReport:
        log.info("connection ok")
        return ConnectionReport(ok=True, summary="Signed in.")

    def list_locks(self) -> list[LockInfo]:
        return [LockInfo("L1", "Lobby")]

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        return LockDetails(items=(("Name", "Lobby"),))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        return []

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        return VendorCode("ref", request.pin)

    def update_code(self, vendor_lock_id: str, code: VendorCode, valid_from: datetime,
                    valid_to: datetime) -> VendorCode:
        return code

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        return None

    def close(self) -> None:
        return None


SPEC = ProviderSpec(
    kind=VendorKind.INLET,
    display_name="Chatty",
    fields=(CredentialField("username", "Username"),
            CredentialField("password", "Password", secret=True),
            CredentialField("token", "Company token", secret=True)),
    capabilities=ChattyAdapter.capabilities,
    factory=ChattyAdapter,
)


def test_secrets_only_in_the_keyring(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "profile")
    keyring = MemoryKeyring()
    handler = setup_logging(paths, verbose=True)
    clock = FixedClock(datetime.fromisoformat("2026-06-10T10:00:00+00:00"))
    try:
        ctx = build_context(paths, Settings(staff_name="Anna"), secrets=SecretStore(keyring),
                            clock=clock, vendors=VendorRegistry([MANUAL_SPEC, SPEC]))
        save_settings(paths.settings_file, ctx.settings)
        seed_hotel(ctx, clock.now())
        result = ctx.services.connections.connect(
            VendorKind.INLET, {"username": "desk@hotel.test", "password": PASSWORD,
                               "token": TOKEN})
        unit = ctx.services.units.list_units()[0]
        ctx.services.links.link(unit.id, lock_id=result.locks[0].id)
        ctx.services.connections.update_credentials(result.connection.id,
                                                    {"password": PASSWORD})
        from mangodesk.services.passcodes import PasscodeInput

        ctx.services.passcodes.create(unit.id, PasscodeInput(
            clock.now() + timedelta(days=1), clock.now() + timedelta(days=2)))
        ctx.close()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()

    assert keyring.get_password(ctx.secrets.service,
                                f"connection:{result.connection.id}:password") == PASSWORD
    files = [p for p in (tmp_path / "profile").rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files)
    if os.name == "posix":  # nothing of the profile is readable by other users
        for path in (tmp_path / "profile").rglob("*"):
            wanted = 0o700 if path.is_dir() else 0o600
            assert stat.S_IMODE(path.stat().st_mode) == wanted, f"{path} is readable by others"
    assert paths.log_file in files and paths.log_file.stat().st_size > 0
    for path in files:
        content = path.read_bytes()
        for secret in (PASSWORD, TOKEN):
            assert secret.encode() not in content, f"{secret!r} leaked into {path.name}"


# ---------------------------------------------------------------- two profiles side by side


def test_keyring_names_of_two_profiles_side_by_side(tmp_path: Path) -> None:
    """A real and a throwaway profile on one computer: each keeps its secrets under its own
    database's identity; neither can read or overwrite the other's; no name holds a secret."""
    keyring = MemoryKeyring()
    registry = VendorRegistry([MANUAL_SPEC, SPEC])
    names: dict[str, set[tuple[str, str]]] = {}
    contexts = {}
    for profile in ("real", "temp"):
        ctx = build_context(Paths.under(tmp_path / profile), Settings(),
                            secrets=SecretStore(keyring), vendors=registry, actor=profile)
        before = set(keyring.names())
        ctx.services.connections.connect(
            VendorKind.INLET, {"username": "desk@hotel.test", "password": PASSWORD,
                               "token": f"{TOKEN}-{profile}"})
        names[profile] = set(keyring.names()) - before
        contexts[profile] = ctx
    try:
        assert names["real"] and names["temp"]
        assert not {n for _, n in names["real"]} - {n for _, n in names["temp"]}  # same fields
        assert {s for s, _ in names["real"]}.isdisjoint({s for s, _ in names["temp"]})
        for service, name in names["real"] | names["temp"]:
            assert PASSWORD not in service + name and TOKEN not in service + name
        token_key = "connection:1:token"
        assert contexts["real"].secrets.get(token_key) == f"{TOKEN}-real"
        assert contexts["temp"].secrets.get(token_key) == f"{TOKEN}-temp"
    finally:
        for ctx in contexts.values():
            ctx.close()


# ---------------------------------------------------------------- `ps` never shows a secret

REPO = Path(__file__).resolve().parents[3]
KEYRING_MODULE = """
import keyring.backend


class Backend(keyring.backend.KeyringBackend):
    \"\"\"This test's password store for the child process (chosen by PYTHON_KEYRING_BACKEND).\"\"\"

    priority = 5
    values = {}

    def get_password(self, service, username):
        return self.values.get((service, username))

    def set_password(self, service, username, password):
        self.values[(service, username)] = password

    def delete_password(self, service, username):
        self.values.pop((service, username), None)
"""


def _command_lines(pid: int) -> list[str]:
    """What other users can see of running processes: ps, and the child's /proc cmdline."""
    seen = [subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                           check=False).stdout]
    with contextlib.suppress(OSError):  # the child already ended
        seen.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
    return seen


def _run_watched(args: list[str], env: dict[str, str], stdin: str) -> tuple[int, str, list[str]]:
    child = subprocess.Popen([sys.executable, "-m", "mangodesk", *args], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.extend(_command_lines(child.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        out, err = child.communicate(stdin, timeout=120)
    finally:
        done.set()
        watcher.join()
    return child.returncode, out + err, seen


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    module_dir = tmp_path / "keyring-module"
    module_dir.mkdir()
    (module_dir / "leakscan_keyring.py").write_text(KEYRING_MODULE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANGODESK_")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(module_dir)]),
               PYTHON_KEYRING_BACKEND="leakscan_keyring.Backend", QT_QPA_PLATFORM="offscreen")
    return env


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc and ps")
def test_no_command_shows_a_secret_in_ps(tmp_path: Path, child_env: dict[str, str]) -> None:
    from mangodesk.sim.beds24 import Beds24Simulator
    from mangodesk.sim.ttlock import TTLockSimulator

    with TTLockSimulator() as ttlock, Beds24Simulator() as beds24:
        values = ttlock.connection_values()
        invite = beds24.create_invite_code()
        db_password = "pg-secret-" + TOKEN
        ttlock_settings = ["--set", f"username={values['username']}",
                           "--set", f"client_id={values['client_id']}",
                           "--set", f"api_base={values['api_base']}"]
        runs = [
            (["connect", "ttlock", "--password-stdin", *ttlock_settings],
             {}, f"{values['password']}\n{values['client_secret']}\n",
             [values["password"], values["client_secret"]]),
            (["connect", "ttlock", "--name", "By env", *ttlock_settings],
             {"MANGODESK_PASSWORD": values["password"],
              "MANGODESK_CLIENT_SECRET": values["client_secret"]}, "",
             [values["password"], values["client_secret"]]),
            (["pms-connect", "--base-url", beds24.base_url],
             {"MANGODESK_BEDS24_INVITE_CODE": invite}, "", [invite]),
            (["database", "postgresql+psycopg://desk@db.hotel.lan:5432/mangodesk",
              "--password-stdin"], {}, db_password + "\n", [db_password]),
        ]
        for index, (args, extra_env, stdin, secrets) in enumerate(runs):
            data_dir = tmp_path / f"desk-{index}"
            code, output, seen = _run_watched(["--data-dir", str(data_dir), *args],
                                              {**child_env, **extra_env}, stdin)
            assert code == 0, output
            assert seen, "the command lines were sampled while it ran"
            for secret in secrets:
                assert not any(secret in line for line in seen), f"{args[0]} showed a secret"
                assert secret not in output
                for path in data_dir.rglob("*"):
                    if path.is_file():
                        assert secret.encode() not in path.read_bytes(), f"{secret} in {path}"
