"""Smartair pieces without a server: error taxonomy, addresses, references, the WSDLs, and
the zeep-over-httpx transport (mocked with respx)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
import zeep

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    AmbiguousError,
    AuthError,
    CodeConflictError,
    ConnectionConfig,
    PermanentError,
    TransientError,
)
from mangodesk.vendors.registry import default_specs
from mangodesk.vendors.smartair import SMARTAIR_SPEC, SmartairAdapter
from mangodesk.vendors.smartair.adapter import SmartairRef
from mangodesk.vendors.smartair.client import ZEEP_SETTINGS
from mangodesk.vendors.smartair.errors import ResultFailure, error_for, result_failure
from mangodesk.vendors.smartair.tls import fingerprint_of, normalise_fingerprint
from mangodesk.vendors.smartair.transport import (
    GUESTS_BINDING,
    bundled_wsdl_dir,
    parse_server_address,
)

PIN = "AA:" * 31 + "AA"


def failure(error_type: str, detail: str | None = None) -> ResultFailure:
    return ResultFailure("precheckin", error_type, "1", detail)


# ------------------------------------------------------------------ taxonomy


@pytest.mark.parametrize(
    ("error_type", "detail", "expected"),
    [
        ("ERROR_SERVICE_AUTHENTICATION", None, AuthError),
        ("ERROR_SERVICE_AUTHORIZATION", None, AuthError),
        ("ERROR_NOT_AUTHORIZED_IN_SERVER_SITE_LICENSE", None, PermanentError),
        ("ERROR_DATA_ERROR", "PIN_ALREADY_EXISTS_PRECHECKINPIN", CodeConflictError),
        ("ERROR_DATA_ERROR", "PIN_ALREADY_EXISTS_CHECKINPIN", CodeConflictError),
        ("ERROR_DATA_ERROR", "SOMETHING_ELSE", PermanentError),
        ("ERROR_COMMUNICATION_NO_ANSWER", None, TransientError),
        ("ERROR_OPERATION_TIMEOUT", None, TransientError),
        ("ERROR_OPERATION_HUB_BUSY", None, TransientError),
        ("ERROR_COMMUNICATION_LOCK_NOT_WAKING_UP", None, TransientError),
        ("RESULT_ERROR_CHECKIN_ROOM_OCCUPIED", None, PermanentError),
        ("RESULT_ERROR_CHECKIN_ROOM_PREASSIGNED", None, PermanentError),
        ("RESULT_ERROR_CHECKIN_INVALID_ROOM", None, PermanentError),
        ("ERROR_BAD_PARAMETERS", None, PermanentError),
        ("A_CODE_FROM_A_NEWER_VERSION", None, PermanentError),
    ],
)
def test_error_types_map_onto_the_taxonomy(
    error_type: str, detail: str | None, expected: type[Exception]
) -> None:
    error = error_for(failure(error_type, detail), room="101", mutating=True)
    assert type(error) is expected
    assert error.vendor_code == error_type
    assert error.fix  # every error tells staff what to do


def test_licence_fix_names_the_soap_feature() -> None:
    error = error_for(failure("ERROR_NOT_AUTHORIZED_IN_SERVER_SITE_LICENSE"), mutating=False)
    assert error.fix is not None and "SOAP API" in error.fix and "licence" in error.fix


def test_missing_type_is_an_error() -> None:
    found = result_failure("findAllRooms", {"errorType": None})
    assert found is not None and found.type_missing
    assert isinstance(error_for(found, mutating=True), AmbiguousError)
    assert isinstance(error_for(found, mutating=False), TransientError)


def test_a_failed_nested_sub_result_fails_the_whole_result() -> None:
    result = {
        "type": "RESULT_OK",
        "subOperations": [
            {"type": "RESULT_OK"},
            {"type": "RESULT_ERROR", "errorType": "ERROR_COMMUNICATION_NO_ANSWER"},
        ],
    }
    found = result_failure("checkout", result)
    assert found is not None and found.error_type == "ERROR_COMMUNICATION_NO_ANSWER"
    assert result_failure("checkout", {"type": "RESULT_OK"}) is None


# ------------------------------------------------------------------ addresses and references


@pytest.mark.parametrize(
    ("typed", "host", "port", "base_path"),
    [
        ("192.168.1.20", "192.168.1.20", 8181, None),
        ("smartair-server:9443", "smartair-server", 9443, None),
        ("https://10.0.0.5:8181/TesaHotelPlatform/", "10.0.0.5", 8181, "TesaHotelPlatform"),
        (" 10.0.0.5 ", "10.0.0.5", 8181, None),
    ],
)
def test_server_addresses_installers_type(
    typed: str, host: str, port: int, base_path: str | None
) -> None:
    address = parse_server_address(typed, {})
    assert (address.host, address.port, address.base_path, address.scheme) == (
        host, port, base_path, "https"
    )


def test_plain_http_needs_an_explicit_choice() -> None:
    with pytest.raises(PermanentError, match="unencrypted"):
        parse_server_address("http://10.0.0.5:8080", {})
    address = parse_server_address("10.0.0.5", {"use_http": True})
    assert (address.scheme, address.port) == ("http", 8080)
    assert parse_server_address("http://10.0.0.5:80", {"use_http": "true"}).scheme == "http"
    assert parse_server_address("10.0.0.5", {"use_http": "no"}).scheme == "https"


@pytest.mark.parametrize("typed", ["", "ftp://10.0.0.5", "https://:8181"])
def test_unusable_addresses_are_refused_plainly(typed: str) -> None:
    with pytest.raises(PermanentError):
        parse_server_address(typed, {})


def test_fingerprints_are_normalised_and_validated() -> None:
    assert normalise_fingerprint(PIN.lower().replace(":", "")) == PIN
    assert fingerprint_of(b"x").count(":") == 31
    with pytest.raises(ValueError):
        normalise_fingerprint("AB:CD")


def test_references_round_trip_and_foreign_ones_are_refused() -> None:
    for ref in (SmartairRef(3, 1001), SmartairRef(3, None)):
        assert SmartairRef.decode(ref.encode()) == ref
    with pytest.raises(PermanentError):
        SmartairRef.decode("ttlock:12")


# ------------------------------------------------------------------ provider spec


def test_spec_is_registered_with_the_password_as_the_only_secret() -> None:
    assert SMARTAIR_SPEC in default_specs()
    assert [f.name for f in SMARTAIR_SPEC.fields if f.secret] == ["operator_password"]
    assert [f.name for f in SMARTAIR_SPEC.fields] == [
        "server_address", "operator_name", "operator_password", "use_http", "server_timezone"
    ]
    assert not next(f for f in SMARTAIR_SPEC.fields if f.name == "server_timezone").required
    rules = SMARTAIR_SPEC.capabilities.pin_rules
    assert rules is not None and rules.lengths == (4,) and not rules.allow_leading_zero
    # update_code moves a start itself (cancel + book again with the same PIN)
    assert SMARTAIR_SPEC.capabilities.can_move_start is True
    assert SMARTAIR_SPEC.lock_noun == "room"


@pytest.mark.parametrize("length", [12, "3", "four"])
def test_unsupported_pin_length_is_refused(length: object) -> None:
    config = ConnectionConfig(1, VendorKind.SMARTAIR, {"pin_length": length}, {})
    with pytest.raises(PermanentError, match="PIN length"):
        SmartairAdapter(config)


def test_a_damaged_stored_fingerprint_is_a_plain_error() -> None:
    config = ConnectionConfig(
        1, VendorKind.SMARTAIR,
        {"server_address": "10.0.0.5", "operator_name": "desk", "pinned_sha256": "AB:CD"},
        {"operator_password": "x"},
    )
    adapter = SmartairAdapter(config)
    with pytest.raises(PermanentError, match="damaged"):
        adapter.list_locks()
    adapter.close()


# ------------------------------------------------------------------ the reconstructed WSDL


@pytest.fixture
def guests() -> Any:
    client = zeep.Client(str(bundled_wsdl_dir() / "GuestsWebService.wsdl"),
                         settings=ZEEP_SETTINGS)
    return client, client.create_service(GUESTS_BINDING, "https://127.0.0.1:1/x")


def test_guests_wsdl_accepts_the_field_names_real_clients_send(guests: Any) -> None:
    client, service = guests
    guest_info = client.get_type("ns0:guestInfo")(
        roomId=3, dateActivation=datetime(2026, 3, 12, 15, tzinfo=UTC),
        dateExpiration=datetime(2026, 3, 14, 11, tzinfo=UTC), keyPad="4821", pinCheckin=True,
        grants=["GYM"], openowCheckin=False, localCardCheckin=False, agentId="DESKTOP 3",
    )
    message = client.create_message(service, "precheckin", operatorName="op",
                                    operatorPassword="pw", guestData=guest_info)
    assert message is not None
    client.create_message(service, "precheckinModifyDate", operatorName="op",
                          operatorPassword="pw", roomId=3, preAssignationId=7,
                          dateExpiration=datetime(2026, 3, 15, 11, tzinfo=UTC))
    client.create_message(service, "checkout", operatorName="op", operatorPassword="pw",
                          roomId=3)
    with pytest.raises(TypeError):
        client.create_message(service, "precheckinCancel", operatorName="op",
                              operatorPassword="pw", roomId=3)  # takes preAssignationId only


def test_doors_wsdl_is_the_vendor_contract(guests: Any) -> None:
    doors = (bundled_wsdl_dir() / "DoorsWebService.wsdl").read_text()
    assert 'schemaLocation="DoorsWebService.xsd"' in doors
    assert "WirelessDoorsServicePortBinding" in doors
    guests_text = (bundled_wsdl_dir() / "GuestsWebService.wsdl").read_text()
    assert "RECONSTRUCTED" in guests_text and "INFERRED" in guests_text


# ------------------------------------------------------------------ transport (respx)

ROOMS_WITH_AN_UNKNOWN_ELEMENT = """<?xml version="1.0" encoding="UTF-8"?>
<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
<ns2:findAllRoomsResponse xmlns:ns2="http://soap.ws.ts1000.tesa.es/"><operationResult>
<operationId>1</operationId><brandNewElement>x</brandNewElement><type>RESULT_OK</type>
<doorData><doorId>3</doorId><doorName>Room 101</doorName><roomOccupied>false</roomOccupied>
</doorData></operationResult></ns2:findAllRoomsResponse></S:Body></S:Envelope>"""


@respx.mock
def test_soap_goes_through_httpx_and_survives_an_unknown_element() -> None:
    base = "https://10.0.0.5:8181/ServerPlatform"
    respx.get(f"{base}/GuestsWebService?wsdl").respond(200, text="<definitions/>")
    rooms = respx.post(f"{base}/GuestsWebService").respond(
        200, text=ROOMS_WITH_AN_UNKNOWN_ELEMENT, headers={"Content-Type": "text/xml"}
    )
    respx.post(f"{base}/DoorsWebService").mock(side_effect=httpx.ConnectError("refused"))
    config = ConnectionConfig(
        1, VendorKind.SMARTAIR,
        {"server_address": "10.0.0.5", "operator_name": "desk", "pinned_sha256": PIN},
        {"operator_password": "s3cret"},
    )
    adapter = SmartairAdapter(config, clock=FixedClock(datetime(2026, 3, 10, tzinfo=UTC)))
    try:
        [lock] = adapter.list_locks()
    finally:
        adapter.close()
    assert (lock.vendor_lock_id, lock.name) == ("3", "Room 101")
    assert "group" not in lock.attributes  # doorGetAll failed: no group, no error
    body = rooms.calls.last.request.content.decode()
    assert "<operatorName>desk</operatorName>" in body
    assert "<operatorPassword>s3cret</operatorPassword>" in body
