"""scripts/gates, which scripts/test runs before pytest, fails the run on a lint error, on code ruff format
would change and on a model change without its migration; and passes on the checkout as it is. Each case
runs the gates on a copy of the checkout with one fault planted in it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", "var", "media", "staticfiles"
)


@pytest.fixture
def checkout(tmp_path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, ignore=LEFT_OUT)
    return copy


def run_gates(checkout: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHEQUN_VENV": sys.prefix, "DEBUG": "1"}
    gates = ["bash", str(checkout / "scripts" / "gates")]
    return subprocess.run(gates, cwd=checkout, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # a Django start for makemigrations
def test_the_gates_pass_on_the_checkout(checkout):
    result = run_gates(checkout)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lint_error_fails_the_gates(checkout):
    (checkout / "shops" / "gate_probe.py").write_text("import os\n")
    result = run_gates(checkout)
    assert result.returncode != 0
    assert "F401" in result.stdout and "gate failed: ruff check" in result.stderr


def test_a_function_over_the_complexity_limit_fails_the_gates(checkout):
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(13))
    (checkout / "shops" / "gate_probe.py").write_text(f"def f(x):\n{branches}    return -1\n")
    result = run_gates(checkout)
    assert result.returncode != 0
    assert "C901" in result.stdout


def test_an_unused_argument_fails_the_gates(checkout):
    (checkout / "shops" / "gate_probe.py").write_text("def f(x, y):\n    return x\n")
    result = run_gates(checkout)
    assert result.returncode != 0
    assert "ARG001" in result.stdout


def test_unformatted_code_fails_the_gates(checkout):
    (checkout / "shops" / "gate_probe.py").write_text("X = {'a':1}\n")
    result = run_gates(checkout)
    assert result.returncode != 0
    assert "gate failed: ruff format" in result.stderr


@pytest.mark.slow  # a Django start for makemigrations
def test_a_model_change_without_its_migration_fails_the_gates(checkout):
    models = checkout / "shops" / "models.py"
    models.write_text(
        models.read_text() + "\n\nclass GateProbe(models.Model):\n    note = models.CharField(max_length=10)\n\n"
        "    def __str__(self):\n        return self.note\n"
    )
    result = run_gates(checkout)
    assert result.returncode != 0
    assert "GateProbe" in result.stdout and "gate failed: missing migration" in result.stderr
    assert not list((checkout / "shops" / "migrations").glob("*gateprobe*")), "--dry-run writes nothing"
