"""Create the peer benchmark's virtualenv, bench/.peer-venv, with django-helpdesk 2.6.1 pinned.

The peer (django-helpdesk) must never be installed into the project's own .venv: it brings its own
Django and DRF versions. This script makes a separate virtualenv beside the benchmarks and installs
every package pinned in bench/peer/constraints.txt. Standard library only, so any Python 3.11 runs it:

    python3.11 bench/peer/setup_venv.py            # quiet; instant when already done
    python3.11 bench/peer/setup_venv.py --force    # reinstall even if the stamp is there

Idempotent: a stamp file inside the virtualenv records a hash of the constraints file and the Python
version; when it matches, nothing is done. Exit status 1 with a message on stderr when anything fails.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV_DIR = ROOT / "bench" / ".peer-venv"
CONSTRAINTS = HERE / "constraints.txt"
STAMP_NAME = ".installed"
# What is installed; everything else comes from the constraints file's pins.
REQUIREMENT = "django-helpdesk"


def fail(message: str) -> None:
    print(f"bench/peer/setup_venv.py: {message}", file=sys.stderr)
    raise SystemExit(1)


def stamp_key() -> str:
    # Keyed by the pins and the interpreter: a new pin or another Python means a new install.
    digest = hashlib.sha256(CONSTRAINTS.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def venv_python() -> Path:
    return VENV_DIR / "bin" / "python"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reinstall even when up to date")
    args = parser.parse_args()

    # Run by whatever python3 a Makefile finds: say so plainly rather than fail inside pip.
    if sys.version_info < (3, 10):  # noqa: UP036
        fail(f"django-helpdesk 2.6.1 needs Python >= 3.10, this is {sys.version.split()[0]}: use python3.11")
    if not CONSTRAINTS.is_file():
        fail(f"{CONSTRAINTS} is missing")

    key = stamp_key()
    stamp = VENV_DIR / STAMP_NAME
    if not args.force and venv_python().exists() and stamp.is_file() and stamp.read_text().strip() == key:
        return 0

    # A virtualenv made by another Python (or half made) is rebuilt rather than patched.
    if VENV_DIR.exists() and (args.force or not venv_python().exists() or stamp.is_file()):
        shutil.rmtree(VENV_DIR)
    print(
        f"== peer virtualenv: installing django-helpdesk 2.6.1 into {VENV_DIR.relative_to(ROOT)}",
        file=sys.stderr,
    )
    try:
        venv.EnvBuilder(with_pip=True, clear=False, symlinks=True).create(VENV_DIR)
    except Exception as exc:
        fail(f"could not create the virtualenv {VENV_DIR}: {exc}")

    command = [
        str(venv_python()),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "-c",
        str(CONSTRAINTS),
        REQUIREMENT,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        fail(f"pip install failed (exit {result.returncode}):\n{tail}")

    # Check the install really is the pinned peer before stamping it.
    check = subprocess.run(
        [str(venv_python()), "-c", "import importlib.metadata as m; print(m.version('django-helpdesk'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0 or check.stdout.strip() != "2.6.1":
        fail(f"django-helpdesk 2.6.1 is not importable in {VENV_DIR}: {check.stdout}{check.stderr}")
    stamp.write_text(key + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
