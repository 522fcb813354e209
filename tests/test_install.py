"""Installing without a C compiler falls back to the pure-Python kernel."""
import os
import shutil
import subprocess
import sys

from conftest import ROOT


def test_install_without_a_compiler_uses_the_python_kernel(tmp_path):
    target = tmp_path / "site"
    # From a copy as clean as a fresh clone: a kernel compiled by an
    # earlier build (build/) would otherwise be reused.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", "*.so",
        "_ckernel.c"))
    env = dict(os.environ, CC="/bin/false", LDSHARED="/bin/false")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation",
         "--no-deps", "--no-cache-dir", "--target", str(target), str(source)],
        capture_output=True, text=True, env=env)
    assert build.returncode == 0, build.stdout + build.stderr
    assert not list(target.glob("nmtool/kernel/_ckernel*.so"))
    # -S keeps the installed nmtool (site-packages) out of the way.
    run = subprocess.run(
        [sys.executable, "-S", "-c",
         "from nmtool.cli import main; "
         "raise SystemExit(main(['version', '--verbose']))"],
        capture_output=True, text=True, cwd=str(tmp_path),
        env=dict(os.environ, PYTHONPATH=str(target)))
    assert run.returncode == 0, run.stderr
    assert run.stdout.endswith("(nmtool 0.1.0, python kernel)\n")
    # The SQL ships inside the package.
    assert (target / "nmtool" / "sql" / "main" /
            "0001_8f2f1571d55b.sql").exists()
