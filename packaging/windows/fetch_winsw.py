#!/usr/bin/env python3
"""Put WinSW-x64.exe, the service wrapper the installer ships as mangodesk-service.exe, beside
mangodesk.iss: one pinned release, used only when its SHA-256 is the pinned one.

The wrapper runs as a Windows service with the rights of the hotel's automation, so a swapped
or damaged download must never reach an installer. A file whose digest differs is refused and
nothing is written (an earlier wrong copy at the target is removed, so iscc cannot pick it up).

    python packaging/windows/fetch_winsw.py              download the pinned release
    python packaging/windows/fetch_winsw.py --from FILE  use a copy fetched by other means
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

VERSION = "2.12.0"
URL = f"https://github.com/winsw/winsw/releases/download/v{VERSION}/WinSW-x64.exe"
# SHA-256 of that release asset, as Scoop's main bucket pins it (bucket/winsw.json at 2.12.0);
# build scripts of unrelated projects that pin the same asset state the same digest.
SHA256 = "05b82d46ad331cc16bdc00de5c6332c1ef818df8ceefcd49c726553209b3a0da"
TARGET = Path(__file__).resolve().parent / "WinSW-x64.exe"
DOWNLOAD_TIMEOUT_SECONDS = 60
CHUNK = 1 << 20


class ChecksumMismatch(Exception):
    """The file is not the pinned WinSW release."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def install_verified(source: Path, target: Path = TARGET, expected: str = SHA256) -> None:
    """Copy ``source`` to ``target`` when its SHA-256 is ``expected``; otherwise raise
    :class:`ChecksumMismatch` and leave no WinSW at ``target``."""
    actual = sha256_of(source)
    if actual != expected.lower():
        target.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{source} is not WinSW {VERSION}: its SHA-256 is {actual}, the pinned one is "
            f"{expected}. It was not used. Download it again from {URL}; if the digest still "
            "differs, do not build the installer with it.")
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(source.read_bytes())
    os.replace(partial, target)


def download(url: str, destination: Path) -> None:
    with (urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response,  # noqa: S310 - the pinned https URL
          destination.open("wb") as out):
        while block := response.read(CHUNK):
            out.write(block)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from", dest="source", type=Path,
                        help="a WinSW-x64.exe already downloaded (checked the same way)")
    parser.add_argument("--target", type=Path, default=TARGET,
                        help="where to put it (default: beside mangodesk.iss)")
    args = parser.parse_args(argv)
    try:
        if args.source is not None:
            install_verified(args.source, args.target)
        else:
            with tempfile.TemporaryDirectory() as scratch:
                fetched = Path(scratch) / "WinSW-x64.exe"
                download(URL, fetched)
                install_verified(fetched, args.target)
    except ChecksumMismatch as exc:
        print(f"fetch_winsw: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"fetch_winsw: could not get WinSW {VERSION}: {exc}", file=sys.stderr)
        return 1
    print(f"WinSW {VERSION} (SHA-256 {SHA256}) is at {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
