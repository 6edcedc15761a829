"""Slurm job scripts that run a scenario, checkpoint before the wall-time limit, and chain
themselves until the run is done.

The script asks Slurm for SIGUSR1 some minutes before the limit (``--signal``); metrotwin
then saves a checkpoint at the next coupling step and exits with status 75, and the script
resubmits itself; the next job continues with ``--restart`` (on however many ranks it gets).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

CHECKPOINTED = 75
_TIME = re.compile(r"^(?:(\d+)-)?(\d{1,2}):(\d{2}):(\d{2})$")


def parse_walltime(text: str) -> int:
    """Seconds of a Slurm time limit written ``HH:MM:SS`` or ``D-HH:MM:SS``."""
    match = _TIME.match(text.strip())
    if not match or int(match.group(3)) >= 60 or int(match.group(4)) >= 60:
        raise ValueError(f"--time {text!r} is not a wall time; write HH:MM:SS or D-HH:MM:SS")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise ValueError(f"--time {text!r} must be longer than zero")
    return total


def job_script(scenario: Path, out: Path, *, name: str, nodes: int, time: str,
               tasks_per_node: int, partition: str | None = None, account: str | None = None,
               max_resubmits: int = 20, python: str | None = None) -> str:  # fmt: skip
    """The text of a job script for ``scenario`` writing into ``out``."""
    if nodes < 1 or tasks_per_node < 1:
        raise ValueError(f"--nodes ({nodes}) and --tasks-per-node ({tasks_per_node}) must be >= 1")
    limit = parse_walltime(time)
    # leave a tenth of the limit (2 to 15 minutes) for the checkpoint to be written
    warning = int(min(900, max(120, limit // 10)))
    if warning >= limit:
        raise ValueError(f"--time {time} leaves no time to compute before the checkpoint warning")
    python = python or sys.executable
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --nodes={nodes}",
        f"#SBATCH --ntasks-per-node={tasks_per_node}",
        "#SBATCH --cpus-per-task=1",
        f"#SBATCH --time={time}",
        f"#SBATCH --signal=USR1@{warning}",
        f"#SBATCH --output={out}/slurm-%j.out",
        "#SBATCH --open-mode=append",
    ]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if account:
        lines.append(f"#SBATCH --account={account}")
    lines += [
        "",
        "# Written by `metrotwin slurm`. Submit with sbatch; it resubmits itself after each",
        "# checkpoint (exit status 75) until the run is done.",
        "set -u",
        "export NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1",
        f"SCENARIO={q(str(scenario))}",
        f"OUT={q(str(out))}",
        f"PYTHON={q(python)}",
        f"SCRIPT={q(str(out / (name + '.sbatch')))}",
        f"MAX_RESUBMITS={max_resubmits}",
        'COUNT_FILE="$OUT/.metrotwin-resubmits"',
        'mkdir -p "$OUT"',
        'RESTART=""',
        'if [ -d "$OUT/.metrotwin-work" ]; then RESTART="--restart"; fi',
        "# python -m mpi4py: an exception on one rank aborts the job instead of a deadlock",
        'srun "$PYTHON" -m mpi4py -m metrotwin run "$SCENARIO" -o "$OUT" --no-progress $RESTART',
        "status=$?",
        f"if [ $status -eq {CHECKPOINTED} ]; then",
        '  count=$(cat "$COUNT_FILE" 2>/dev/null || echo 0)',
        '  if [ "$count" -ge "$MAX_RESUBMITS" ]; then',
        '    echo "metrotwin: $count resubmissions reached; not resubmitting" >&2',
        "    exit 1",
        "  fi",
        '  echo $((count + 1)) > "$COUNT_FILE"',
        '  echo "metrotwin: checkpoint saved; resubmitting $SCRIPT"',
        '  sbatch "$SCRIPT"',
        "  exit 0",
        "fi",
        'rm -f "$COUNT_FILE"',
        "exit $status",
        "",
    ]
    return "\n".join(lines)
