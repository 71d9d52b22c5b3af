"""The P-scenarios' runner behind `scripts/bench list | all | P<n> [args…]` (not a benchmark itself).

Each scenario is a module `bench/p<n>_<name>.py` exposing `ID = "P<n>"`, `TITLE` and
`run(argv) -> list[Measure]`. Every scenario runs in a process of its own (each sets up Django on a
database of its own), this process collects their Measures, prints the table, and writes them as JSON to
`var/bench/results-<UTC time>.json` and `var/bench/latest.json` together with the machine: CPUs, load
average at the start and the end, git commit.

Exit status: 1 when any invariant was broken or a scenario failed to run; never because of a timing.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _support import Measure, print_measures  # noqa: E402


def scenarios() -> list[tuple[str, str, Path]]:
    """(id, title, path) of every bench/p*_*.py, in id order (P1, P2, … P10)."""
    found = []
    for path in BENCH.glob("p*_*.py"):
        match = re.fullmatch(r"p(\d+)_\w+\.py", path.name)
        if not match:
            continue
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append((int(match.group(1)), module.ID, getattr(module, "TITLE", ""), path))
    return [(sid, title, path) for _n, sid, title, path in sorted(found)]


def find(scenario_id: str) -> Path | None:
    for sid, _title, path in scenarios():
        if sid.lower() == scenario_id.lower():
            return path
    return None


def machine() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "nproc": os.cpu_count(),
        "load_start": list(os.getloadavg()),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_one_here(path: Path, argv: list[str], out: Path) -> None:
    """In the child: run the scenario, print its table, write its Measures to `out`."""
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # importable by name: a scenario may name its own classes in settings (P10)
    spec.loader.exec_module(module)
    measures = module.run(argv)
    print_measures(measures)
    out.write_text(json.dumps([m.as_json() for m in measures], ensure_ascii=False, indent=1))


def run_child(path: Path, argv: list[str]) -> tuple[list[Measure], str]:
    """Run one scenario in a fresh Python; its Measures, or an error message."""
    out = ROOT / "var" / "bench" / f".child-{os.getpid()}-{path.stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    code = subprocess.call([sys.executable, __file__, "--child", str(path), str(out), *argv], cwd=ROOT)
    if not out.exists():
        return [], f"{path.name} exited {code} without results"
    rows = json.loads(out.read_text())
    out.unlink()
    keys = Measure.__dataclass_fields__.keys()
    measures = [Measure(**{k: v for k, v in row.items() if k in keys}) for row in rows]
    return measures, "" if code == 0 else f"{path.name} exited {code}"


def write_results(results: dict) -> Path:
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"results-{stamp}.json"
    text = json.dumps(results, ensure_ascii=False, indent=1)
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path


def markdown(path: Path) -> str:
    """A results file as the table bench/README.md keeps (`python bench/_runner.py table [FILE]`)."""
    results = json.loads(path.read_text())
    m = results["machine"]
    load = lambda xs: "/".join(f"{x:.2f}" for x in xs)  # noqa: E731
    lines = [
        f"Run `{' '.join(results['argv'])}` at {m['started']} on commit {m['commit'][:10]}: {m['nproc']} CPUs, "
        f"load average (1/5/15 min) {load(m['load_start'])} at the start, {load(m.get('load_end', []))} at the end.",
        "",
        "| id | figure | product | baseline (same run) | ratio | target | verdict | invariants | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in results["measures"]:
        broken = [rule for rule, held in row["invariants"].items() if not held]
        checks = "—" if not row["invariants"] else ("held" if not broken else "BROKEN: " + ", ".join(broken))
        lines.append(
            f"| {row['id']} | {row['name']} | {row['figure']:,.1f} {row['unit']} | {row['baseline']:,.1f} "
            f"({row['baseline_name']}) | {row['ratio']:.3f} | ≥ {row['target']:g} | {row['verdict']} | {checks} "
            f"| {row['notes']} |"
        )
    return "\n".join(lines)


def main(args: list[str]) -> int:
    if args and args[0] == "table":
        print(markdown(Path(args[1]) if len(args) > 1 else ROOT / "var" / "bench" / "latest.json"))
        return 0
    if args and args[0] == "--child":
        run_one_here(Path(args[1]), args[3:], Path(args[2]))
        return 0
    if not args or args[0] == "list":
        for sid, title, path in scenarios():
            print(f"{sid:<4} {title}  (bench/{path.name})")
        return 0
    if args[0] == "all":
        todo = [(path, args[1:]) for _sid, _title, path in scenarios()]
    else:
        path = find(args[0])
        if path is None:
            print(f"no scenario {args[0]!r}; `scripts/bench list` lists them", file=sys.stderr)
            return 2
        todo = [(path, args[1:])]

    results = {"machine": machine(), "argv": args, "measures": [], "errors": []}
    everything: list[Measure] = []
    for path, argv in todo:
        start = time.perf_counter()
        measures, error = run_child(path, argv)
        print(f"· {path.name}: {time.perf_counter() - start:.0f} s", flush=True)
        everything += measures
        results["measures"] += [m.as_json() for m in measures]
        if error:
            results["errors"].append(error)
            print(f"!! {error}", file=sys.stderr, flush=True)
    results["machine"]["load_end"] = list(os.getloadavg())
    results["machine"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    saved = write_results(results)

    m = results["machine"]
    load = lambda xs: "/".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(
        f"\n{m['nproc']} CPUs, load average {load(m['load_start'])} at the start, {load(m['load_end'])} at the end, "
        f"commit {m['commit'][:10]}{' (dirty)' if m['dirty'] else ''}"
    )
    print_measures(everything)
    for x in everything:
        if x.notes:
            print(f"  {x.id} {x.name}: {x.notes}")
    print(f"results: {saved.relative_to(ROOT)} (and var/bench/latest.json)")
    broken = [f"{x.id} {x.name}" for x in everything if not x.invariants_held]
    if broken:
        print("BROKEN INVARIANTS: " + "; ".join(broken), file=sys.stderr)
    return 1 if broken or results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
