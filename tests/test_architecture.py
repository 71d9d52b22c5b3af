"""The layers of .importlinter hold, and the contract really bites.

scripts/test runs `lint-imports` before pytest; these tests show that the contract it checks fails when a
lower layer imports a higher one (on a copy of the code with one import added), that every module is in a
layer, that no two layers import each other, and that no modules import each other round a cycle (imports
inside functions included: an import put off into a function that closes a cycle is still a cycle).
"""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser


def root_packages() -> list[str]:
    return _config()["importlinter"]["root_packages"].split()


def layers() -> list[list[str]]:
    """The layers contract, highest first: each layer a list of modules (optional ones unwrapped)."""
    raw = _config()["importlinter:contract:layers"]["layers"].strip().splitlines()
    return [[name.strip().strip("()") for name in line.replace("|", ":").split(":")] for line in raw]


def _lint_copy(tmp_path: Path, module: str, statement: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of the code (Python files and the contract only) with `statement` added at
    the end of `module`."""
    for package in root_packages():
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    target = tmp_path / (module.replace(".", "/") + ".py")
    target.write_text(target.read_text() + "\n" + statement + "\n")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_the_contract_is_kept_by_the_code(tmp_path):
    result = _lint_copy(tmp_path, "shequn.bounds", "")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "module, statement, broken",
    [
        # An app importing an app above it: the upward edges this contract was written to remove.
        ("shops.services", "from groups.models import Group", "shops is not allowed to import groups"),
        ("notifications.selectors", "import orders.models", "notifications is not allowed to import orders"),
        # Inside a function too: a late import is still an import.
        (
            "groups.services",
            "def _edge(pk):\n    from referrals.models import ReferralEdge\n    return ReferralEdge.objects.get(pk=pk)",
            "groups is not allowed to import referrals",
        ),
        # The core of shequn knows no app; the wiring on top may import anything, nothing imports it.
        ("shequn.api", "from shops.tenancy import current_seat", "shequn.api is not allowed to import shops"),
        ("campaigns.services", "from shequn import urls", "campaigns is not allowed to import shequn.urls"),
    ],
)
def test_the_contract_breaks_when_a_lower_layer_imports_a_higher_one(tmp_path, module, statement, broken):
    result = _lint_copy(tmp_path, module, statement)
    assert result.returncode != 0
    assert broken in " ".join(result.stdout.split()), result.stdout


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*root_packages(), cache_dir=None)


def _layer_of(module: str, modules_of_layers: list[list[str]]) -> int | None:
    for index, names in enumerate(modules_of_layers):
        if any(module == name or module.startswith(name + ".") for name in names):
            return index
    return None


def test_every_module_is_in_a_layer(graph):
    """A module outside every layer would escape the contract: every shequn module is named in one."""
    contract = layers()
    assert sorted(m for m in graph.modules if m not in root_packages() and _layer_of(m, contract) is None) == []


def test_no_two_layers_import_each_other(graph):
    contract = layers()
    imports = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            edge = (_layer_of(importer, contract), _layer_of(imported, contract))
            if None not in edge and edge[0] != edge[1]:
                imports.add(edge)
    both_ways = sorted((contract[a][0], contract[b][0]) for a, b in imports if a < b and (b, a) in imports)
    assert both_ways == []


def test_no_import_cycle_between_modules(graph):
    """Tarjan's strongly connected components of the module import graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert cycles == []
