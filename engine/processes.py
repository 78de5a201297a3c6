"""The registry of process versions: every folder under bpmn/ is a process; the sha256 of its files is its
version. A case keeps the version it started on, because the files of every version are stored in the database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from engine.db import db, insert_with_conflicts
from engine.models import ProcessVersion
from engine.runtime import ParsedProcess, Runtime
from engine.workflow_cache import WorkflowCache

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
_MODEL_SUFFIXES = (".bpmn", ".dmn", ".json")

runtime = Runtime()
# Live workflows of recently written cases (engine.workflow_cache); WORKFLOW_CACHE_SIZE sets its size.
workflows = WorkflowCache()

# Case-number prefixes per process (WA-532301-2021-000017).
PREFIXES = {"wage_arrears": "WA", "benefit_claim": "BC", "temp_job": "TJ"}


class UnknownProcess(LookupError):
    pass


def process_names() -> list[str]:
    return sorted(p.name for p in BPMN_DIR.iterdir() if (p / f"{p.name}.bpmn").is_file())


_file_cache: dict[str, tuple[tuple, dict[str, str], str]] = {}


def _read(process: str) -> tuple[dict[str, str], str]:
    folder = BPMN_DIR / process
    if not (folder / f"{process}.bpmn").is_file():
        raise UnknownProcess(process)
    paths = [f for f in sorted(folder.iterdir()) if f.is_file() and f.name.endswith(_MODEL_SUFFIXES)]
    # Re-read only when a file changed, so opening a case does not hash the models every time.
    signature = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in paths)
    hit = _file_cache.get(process)
    if hit is None or hit[0] != signature:
        files = {f.name: f.read_text(encoding="utf-8") for f in paths}
        hit = (signature, files, content_hash(files))
        _file_cache[process] = hit
    return hit[1], hit[2]


def read_files(process: str) -> dict[str, str]:
    return dict(_read(process)[0])


def content_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


_stored: dict[tuple[str, str], int] = {}  # (process, content hash) -> id of a version known to be stored


def current_version(process: str) -> tuple[int, ParsedProcess]:
    """The id and parsed spec of the version matching the files in bpmn/ now, registered on first use (in the
    caller's transaction; not committed). Once a version is known to be stored, no query is needed."""
    files, digest = _read(process)
    version_id = _stored.get((process, digest))
    if version_id is not None:
        return version_id, parsed_by_id(version_id)
    query = select(ProcessVersion).where(ProcessVersion.process == process, ProcessVersion.content_hash == digest)
    version = db.session.scalar(query)
    if version is None:
        # Several workers open the first cases of a new version at once: each inserts unless another has (on
        # PostgreSQL it waits for that one's commit), then all use the one row. A plain INSERT failed every one
        # but the first with a conflict. Not remembered until committed by someone: this transaction may yet roll
        # back.
        db.session.execute(insert_with_conflicts(ProcessVersion.__table__).values(
            process=process, content_hash=digest, files=dict(files), created_at=datetime.now(UTC),
        ).on_conflict_do_nothing(index_elements=["process", "content_hash"]))
        version = db.session.scalar(query)
    else:
        _stored[(process, digest)] = version.id
    return version.id, parsed(version)


def parsed(version: ProcessVersion) -> ParsedProcess:
    # Keyed by id: a stored version never changes. Whoever deletes versions (the tests' truncation) calls forget().
    return runtime.parse(version.id, version.process, version.files)


def parsed_by_id(version_id: int) -> ParsedProcess:
    """The parsed version, without any query when it is already parsed."""
    hit = runtime.cached(version_id)
    if hit is not None:
        return hit
    return parsed(db.session.get(ProcessVersion, version_id))


_hashes: dict[int, str] = {}


def version_hash(version_id: int) -> str:
    """The content hash of a stored version, read once (without its files)."""
    if version_id not in _hashes:
        found = db.session.scalar(select(ProcessVersion.content_hash).where(ProcessVersion.id == version_id))
        if found is None:
            return ""
        _hashes[version_id] = found
    return _hashes[version_id]


def configure_workflow_cache(size: int, *, check: bool = False) -> None:
    """How many live workflows this process keeps (0: none), and whether every commit checks them (tests)."""
    workflows.size = size
    workflows.check_with = runtime.dumps if check else None


def forget() -> None:
    """Drop what is remembered of stored versions (after process_versions rows were deleted: ids may be reused)."""
    _stored.clear()
    _hashes.clear()
    runtime.forget_parsed()
    workflows.clear()
