"""Bundle the pair-lsp server into the extension for one VS Code target platform, the way
Microsoft's Python tool extensions do: pair-lsp and its dependencies as installed packages in
bundled/libs, run as `python -m pair_lsp serve` with PYTHONPATH pointing there. The user needs
only a Python >= 3.11 (found by src/common/interpreter.ts), not a pip install.

Compiled dependencies (pydantic-core, jiter) are built per CPython minor version, so the tree is
installed for 3.11 into bundled/libs, and each other version's compiled packages go to
bundled/abi/cp3XX (put before bundled/libs on PYTHONPATH for that interpreter).

    python3 scripts/bundle_server.py --target linux-x64      # then: vsce package --target linux-x64
Targets: linux-x64, linux-arm64, darwin-arm64, darwin-x64, win32-x64. Needs pip and PyPI access.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXT = Path(__file__).resolve().parents[1]
ROOT = EXT.parents[1]
PLATFORMS = {
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "linux-arm64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "darwin-arm64": ["macosx_11_0_arm64"],
    "darwin-x64": ["macosx_10_12_x86_64", "macosx_10_9_x86_64"],
    "win32-x64": ["win_amd64"],
}
VERSIONS = ["3.11", "3.12", "3.13", "3.14"]
COMPILED = (".so", ".pyd", ".dylib")


def pip_install(wheel: Path, target: Path, platforms: list[str], version: str) -> None:
    tag = "cp" + version.replace(".", "")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-compile", "--target", str(target), "--only-binary=:all:",
           "--implementation", "cp", "--python-version", version,
           "--abi", tag, "--abi", "abi3", "--abi", "none"]
    for platform in platforms:
        cmd += ["--platform", platform]
    subprocess.run([*cmd, str(wheel)], check=True)


def compiled_packages(tree: Path) -> set[str]:
    """Top-level names in `tree` that hold native code."""
    names = set()
    for path in tree.rglob("*"):
        if path.suffix in COMPILED or any(part.endswith(COMPILED) for part in path.name.split(".")):
            names.add(path.relative_to(tree).parts[0])
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="linux-x64", choices=sorted(PLATFORMS))
    args = parser.parse_args()
    platforms = PLATFORMS[args.target]
    bundled = EXT / "bundled"
    shutil.rmtree(bundled, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "-w", str(wheels), str(ROOT)], check=True)
        wheel = next(wheels.glob("pair_lsp-*.whl"))
        libs = bundled / "libs"
        pip_install(wheel, libs, platforms, VERSIONS[0])
        native = compiled_packages(libs)
        for version in VERSIONS[1:]:
            other = Path(tmp) / version
            pip_install(wheel, other, platforms, version)
            abi = bundled / "abi" / ("cp" + version.replace(".", ""))
            for name in sorted(compiled_packages(other) | native):
                source = other / name
                if source.exists():
                    abi.mkdir(parents=True, exist_ok=True)
                    (shutil.copytree if source.is_dir() else shutil.copy2)(source, abi / name)
    for junk in list(bundled.rglob("__pycache__")) + list(bundled.glob("libs/bin")):
        shutil.rmtree(junk, ignore_errors=True)
    size = sum(p.stat().st_size for p in bundled.rglob("*") if p.is_file())
    print(f"bundled pair-lsp for {args.target} into {bundled} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
