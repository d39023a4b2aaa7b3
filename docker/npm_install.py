"""`npm ci` for the image without npm: the runtime packages of package-lock.json, checked by their integrity hash.

The site serves files from node_modules (STATICFILES_DIRS); Debian's npm would bring 400 packages into the
build for two tarballs. Each tarball comes from the registry the lock file names (never a CDN) and is
refused unless its SHA-512 matches the lock file's `integrity`, as npm itself checks it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"


def tarball_url(path: str, entry: dict) -> str:
    """The lock file's `resolved` URL, or the registry's own URL for the package and version."""
    if entry.get("resolved"):
        return entry["resolved"]
    name = path.removeprefix("node_modules/")
    return f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{entry['version']}.tgz"


def checked(data: bytes, integrity: str, url: str) -> bytes:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"{url}: integrity {algorithm!r} is not sha512")
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != expected:
        raise SystemExit(f"{url}: SHA-512 does not match package-lock.json")
    return data


def unpack(data: bytes, destination: Path) -> None:
    """The tarball's regular files under ``destination``, without their top folder (npm's "package/")."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            relative = Path(*Path(member.name).parts[1:])
            if not member.isfile() or not relative.parts:
                continue
            if relative.is_absolute() or ".." in relative.parts:
                raise SystemExit(f"unsafe path in tarball: {member.name}")
            file = destination / relative
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(archive.extractfile(member).read())


def install(lock_path: Path, target: Path) -> list[str]:
    packages = json.loads(lock_path.read_text())["packages"]
    installed = []
    for path, entry in packages.items():
        # "" is the project itself; nested paths and dev packages are not what the site serves.
        if not path.startswith("node_modules/") or entry.get("dev") or entry.get("link"):
            continue
        url = tarball_url(path, entry)
        with urllib.request.urlopen(url, timeout=60) as response:
            data = checked(response.read(), entry["integrity"], url)
        unpack(data, target / path)
        installed.append(f"{path.removeprefix('node_modules/')}@{entry['version']}")
    return installed


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    print("installed", " ".join(install(root / "package-lock.json", root)))
