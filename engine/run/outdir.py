"""The output folder of a run: checked, locked and bookkept before anything is computed.

``OutputFolder.open`` resolves the path, creates what is missing (remembering exactly which
folders it created), takes the folder's lock (``metrotwin.run.runlock``) and refuses, before the
city is built, a folder that is a file or not writable, a finished run (without
``overwrite``), a folder of the user's that a variant or the comparison would replace, and an
interrupted run (without ``restart`` or ``overwrite``).

Variants run in ``OUT/.metrotwin-work``; ``publish`` moves each finished one into place. A
run's units are its variants, or for a risk run its (variant, member) pairs, whose names are
folders nested in their variant's (``baseline/members/T10-s000``): each is staged, kept,
resumed and published on its own, as a variant is.
``close`` removes only what this run made: the work folder (kept when it holds a checkpoint or
finished variants of an interrupted run, to restart from) and the folders it created, and
only while they are empty. A folder that existed before the run is never removed.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
from pathlib import Path

from metrotwin.errors import MetrotwinError, OutputError
from metrotwin.results.checkpoint import has_checkpoint
from metrotwin.results.output import FIELDS_FILE, RESOLVED_FILE, write_json
from metrotwin.run.runlock import RunLock

log = logging.getLogger("metrotwin")

WORK_DIR = ".metrotwin-work"
DONE_MARKER = ".done"
MANIFEST = "run.json"
COMPARISON_DIR = "comparison"
#: what metrotwin writes into a comparison folder (metrotwin.results.compare)
COMPARISON_FILES = ("report.html", "comparison.nc", "indicators.csv")
#: errors of the machine, not of metrotwin: reported as exit status 2 with their cause
ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)
#: an HDF5 or netCDF write that fails with less free space than this is taken as a full disk:
#: those libraries report a failed write as "HDF error" without the errno, and one output
#: record (a chunk of every field) of a large grid is tens of MiB
LOW_SPACE_BYTES = 64 * 2**20


def is_variant_folder(path: Path) -> bool:
    """A variant folder metrotwin wrote (never a folder a user made, nor a symlink)."""
    return (path.is_dir() and not path.is_symlink()
            and ((path / RESOLVED_FILE).is_file() or (path / FIELDS_FILE).is_file()))  # fmt: skip


def is_comparison_folder(path: Path) -> bool:
    if not path.is_dir() or path.is_symlink():
        return False
    return any((path / f).is_file() for f in COMPARISON_FILES)


class OutputFolder:
    """The output folder ``path`` of a run of the variants ``names``.

    ``comparison``: the run writes ``OUT/comparison`` (its report).
    """

    def __init__(self, path: Path, names: list[str], *, restart: bool = False,
                 overwrite: bool = False, comparison: bool = False):  # fmt: skip
        # resolved first, as the system resolves it: "runs/.." is the working directory,
        # whether runs/ exists or not, and every decision below is about that folder
        self.path = Path(path).expanduser().resolve()
        self.work = self.path / WORK_DIR
        self.names = list(names)
        self.restart, self.overwrite, self.comparison = restart, overwrite, comparison
        self.lock = RunLock(self.path)
        self.created: list[Path] = []  # folders this run created, outermost first
        self._work_created = False
        self._closed = False
        #: variants in place: published by this run, or by the interrupted run it continues
        self.done: list[str] = []

    # -- before the run --------------------------------------------------------------------

    def open(self) -> None:
        """Create, lock and check the folder; raises OutputError (leaving nothing behind)."""
        try:
            self._make()
            stale = self.lock.acquire()
            if stale:
                log.warning("%s: took over the lock left by %s, which is no longer running",
                            self.path, stale)  # fmt: skip
            self._check()
            self._prepare_work()
        except BaseException as err:
            if self._work_created:
                shutil.rmtree(self.work, ignore_errors=True)
            self._undo_created()
            env = environment_error(err, self.path)
            if env is not None:
                raise env from None
            raise

    def _make(self) -> None:
        missing = []
        for folder in [self.path, *self.path.parents]:
            if folder.exists():
                if not folder.is_dir():
                    raise OutputError(
                        f"{self.path}: {folder} is a file, not a folder; choose another output "
                        "folder with -o"
                    )
                break
            missing.append(folder)
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:  # made meanwhile by someone else: not ours
                continue
            self.created.append(folder)

    def _check(self) -> None:
        if COMPARISON_DIR in self.names and self.comparison:
            raise OutputError(
                f"variant {COMPARISON_DIR!r} would share {self.path / COMPARISON_DIR} with the "
                "comparison report; rename the variant, or run with --no-report"
            )
        manifest = self._manifest()
        if self.restart:
            self._check_restart(manifest)
        else:
            self._check_fresh(manifest)
        wanted = [n for n in self.names if n not in self.done]
        for name in wanted:
            target = self.path / name
            if (target.exists() or target.is_symlink()) and not is_variant_folder(target):
                raise OutputError(
                    f"{target} exists and is not a metrotwin variant folder: variant {name!r} "
                    "would replace it; move it away, or choose another output folder with -o"
                )
        target = self.path / COMPARISON_DIR
        taken = target.exists() or target.is_symlink()
        if self.comparison and taken and not is_comparison_folder(target):
            raise OutputError(
                f"{target} exists and is not a metrotwin comparison: the comparison report "
                "would write into it; move it away, run with --no-report, or choose another "
                "output folder with -o"
            )

    def _check_restart(self, manifest: dict | None) -> None:
        if manifest is None and self.work.is_dir() and self._resumable(None):
            manifest = {}  # checkpoints without a manifest (a run of an earlier version)
        if manifest is None:
            finished = [n for n in self.names if is_variant_folder(self.path / n)]
            if finished and len(finished) == len(self.names):
                raise OutputError(
                    f"{self.path}: this run is finished (variants {', '.join(finished)}); "
                    "there is nothing to restart. Run it again with --overwrite instead of "
                    "--restart"
                )
            raise OutputError(
                f"{self.path}: nothing to restart (no interrupted run in {self.work}); "
                "run without --restart to start the run"
            )
        self.overwrite = self.overwrite or bool(manifest.get("overwrite"))
        published = manifest.get("published", [])
        self.done = [n for n in self.names if n in published and is_variant_folder(self.path / n)]

    def _check_fresh(self, manifest: dict | None) -> None:
        kept = self._resumable(manifest) if self.work.is_dir() else ""
        if kept and not self.overwrite:
            raise OutputError(
                f"{self.path} holds an interrupted run ({kept}); continue it with --restart, "
                "or start again with --overwrite"
            )
        finished = sorted({p.name for p in self.path.iterdir() if is_variant_folder(p)}
                          | {n for n in self.nested() if is_variant_folder(self.path / n)})
        if finished and not self.overwrite:
            raise OutputError(
                f"{self.path} holds a finished run (variants {', '.join(finished)}); run with "
                "--overwrite to replace the variants this run writes, or choose another "
                "output folder with -o"
            )
        if self.work.is_dir():  # metrotwin's own work folder of an earlier run
            log.info("%s: removing the work folder of an earlier run (%s)", self.path,
                     kept or "nothing to resume")  # fmt: skip
            shutil.rmtree(self.work)

    def _resumable(self, manifest: dict | None) -> str:
        """What an interrupted run left to continue from ('' if nothing)."""
        parts = []
        ckpt = sorted(p.name for p in self._staged() if has_checkpoint(p))
        if ckpt:
            parts.append(f"checkpoints of {', '.join(ckpt)}")
        done = (manifest or {}).get("published", [])
        if done:
            parts.append(f"finished {', '.join(done)}")
        return "; ".join(parts)

    def _manifest(self) -> dict | None:
        try:
            data = json.loads((self.work / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raise OutputError(
                f"{self.work / MANIFEST}: unreadable; start again with --overwrite"
            ) from None
        return data if isinstance(data, dict) else None

    def nested(self) -> list[str]:
        """The units whose folders are nested in a variant's (a risk run's members)."""
        return [n for n in self.names if len(Path(n).parts) > 1]

    def _staged(self) -> list[Path]:
        """The folders in the work folder a unit runs in: its top-level folders (a variant's,
        or one this run does not name), and the nested folders of this run's units."""
        top = [p for p in self.work.iterdir() if p.is_dir()]
        return top + [self.work / n for n in self.nested() if (self.work / n).is_dir()]

    def _write_manifest(self) -> None:
        state = {"variants": self.names, "published": self.done, "overwrite": self.overwrite}
        write_json(self.work / MANIFEST, state)

    def _prepare_work(self) -> None:
        if not self.work.is_dir():
            self.work.mkdir()
            self._work_created = True
        self._write_manifest()

    # -- after the run ---------------------------------------------------------------------

    def finished_in_work(self) -> list[str]:
        """The variants of this run that finished in the work folder, not yet published."""
        return [n for n in self.names
                if n not in self.done and (self.work / n / DONE_MARKER).exists()]  # fmt: skip

    def publish(self, names: list[str]) -> dict[str, Path]:
        """Move finished variants from the work folder into place; returns variant -> folder.
        A variant folder already there is replaced only if metrotwin wrote it (--overwrite)."""
        results = {}
        for name in names:
            final = self.path / name
            if name not in self.done:
                staged = self.work / name
                for leftover in ("checkpoint", DONE_MARKER, "checkpoint.old", "checkpoint.part"):
                    _remove(staged / leftover)
                if final.exists() or final.is_symlink():
                    if not (self.overwrite and is_variant_folder(final)):
                        raise OutputError(
                            f"{final} appeared during the run and is not a metrotwin variant "
                            f"folder; variant {name!r} stays in {staged}"
                        )
                    old = self.work / f".replaced-{name.replace('/', '.')}"  # (a member's)
                    final.rename(old)
                    try:
                        staged.rename(final)
                    except BaseException:
                        old.rename(final)  # the earlier variant stays where it was
                        raise
                    shutil.rmtree(old)
                else:
                    final.parent.mkdir(parents=True, exist_ok=True)  # a member's variant folder
                    staged.rename(final)
                self.done.append(name)
                self._write_manifest()
            results[name] = final
        return results

    def close(self, outcome: str) -> None:
        """End the run: ``outcome`` is "done", "stopped" (a signal or Ctrl-C: what can be
        continued is kept) or "failed" (only a checkpoint is kept). Once only."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.work.is_dir():
                self._tidy_work(outcome)
        finally:
            self.lock.release()
            self._undo_created()

    def can_resume(self) -> bool:
        """Whether ``--restart`` has something to continue from: a finished variant or a
        checkpoint of this run."""
        if self.done or not self.work.is_dir():
            return bool(self.done)
        return any(has_checkpoint(d) for d in self._staged())

    def _tidy_work(self, outcome: str) -> None:
        if outcome == "done":
            shutil.rmtree(self.work)
            return
        checkpoints, finished, others = [], [], []
        holders = {self.work / parent for n in self.nested() for parent in Path(n).parents}
        nested = [self.work / n for n in self.nested() if (self.work / n).exists()]
        for entry in [*self.work.iterdir(), *nested]:
            if entry.name == MANIFEST or entry in holders:  # a member's variant: not a unit
                continue
            if entry.is_dir() and (entry / DONE_MARKER).exists():
                finished.append(entry)
            elif entry.is_dir() and has_checkpoint(entry):
                checkpoints.append(entry)
            else:
                others.append(entry)  # a variant that can only start again
        # a checkpoint is never deleted; an interrupted run also keeps its finished variants
        # (published, or not yet), which --restart skips
        keep = bool(checkpoints) or (outcome == "stopped" and bool(self.done or finished))
        if not keep:
            shutil.rmtree(self.work)
            return
        for entry in others:
            _remove(entry)
        for entry in checkpoints:
            for part in [entry / "checkpoint.part", *entry.glob(".*.part")]:
                _remove(part)  # half-written files beside the checkpoint

    def _undo_created(self) -> None:
        """Remove the folders this run created, deepest first, each only if empty."""
        self.lock.release()
        for folder in reversed(self.created):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (or not ours to remove): it stays, and so do its parents
        self.created = [f for f in self.created if f.exists()]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def environment_error(err: BaseException, folder: Path) -> OutputError | None:
    """The error of the machine behind ``err`` (disk full, read-only, no permission) as one
    message naming the path and the cause, or None if ``err`` is not one. Looks through the
    chain: closing a file after a full disk fails again, with the first error as context."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OutputError):
            return err
        if isinstance(err, MetrotwinError):
            return None  # already a message about the user's input
        found = _environment_cause(err, folder)
        if found is not None:
            path, cause = found
            if path != folder and path.is_relative_to(folder):  # a file of the run's own
                return OutputError(f"{folder}: {cause} (writing {path.relative_to(folder)})")
            return OutputError(f"{path}: {cause}")
        err = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
    return None


def _environment_cause(err: BaseException, folder: Path) -> tuple[Path, str] | None:
    if isinstance(err, OSError) and err.errno in ENVIRONMENT_ERRNOS:
        return Path(err.filename or folder), os.strerror(err.errno).lower()
    if not isinstance(err, (OSError, RuntimeError)):
        return None
    text = str(err)
    # h5py puts the C errno into the message only: "... errno = 28, error message = ..."
    match = re.search(r"errno = (\d+)", text)
    if match and int(match.group(1)) in ENVIRONMENT_ERRNOS:
        path = Path(getattr(err, "filename", None) or folder)
        return path, os.strerror(int(match.group(1))).lower()
    if "HDF" in text or "NetCDF" in text:
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return None
        if free < LOW_SPACE_BYTES:
            return folder, f"no space left on device ({free / 2**20:.1f} MiB free; {text})"
        if folder.is_dir() and not os.access(folder, os.W_OK):
            return folder, f"permission denied ({text})"
    return None
