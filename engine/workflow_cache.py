"""Live workflows of recently written cases, kept in memory so that the next step on a case need not rebuild its
workflow from the stored state (restoring is a third of what bare SpiffWorkflow spends on a step).

The database stays the truth. An entry is added only when the transaction that wrote the state commits, and is
used only while the stored state is still exactly the state it was written as: a change made by another process,
a rolled-back write or a restored backup all read as a miss, and the workflow is restored from the database as
before. A step takes its entry out, so two steps never share a workflow object; it goes back when its own write
commits. Within the writing transaction the workflow can be taken again (a status hook that adds to what its step
just wrote) and written again. One rule keeps the entry equal to its state: a workflow is changed only before it
is written (every write goes through `keep`), never after.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "workflow_cache.pending"


class WorkflowChangedAfterWrite(RuntimeError):
    """A kept workflow no longer serializes to the state it was written as: code changed it after writing it."""


class WorkflowCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        # When set (the tests set it: WORKFLOW_CACHE_CHECK), every kept workflow is serialized again at commit and
        # must give the state it was written as; the check costs what the cache saves, so production leaves it off.
        self.check_with: Callable[[Any], str] | None = None
        self._entries: OrderedDict[int, tuple[Any, str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, session: Session, case_id: int, version_key: Any, state: str) -> Any | None:
        """The live workflow of this case if it is exactly `state` on process version `version_key`, taken out of
        the cache (the caller owns it now); else None. A workflow written earlier in `session`'s transaction (a
        status hook that changes the workflow its step just wrote) is taken from what that transaction keeps."""
        entry = (session.info.get(_PENDING) or {}).pop(case_id, None)
        if entry is not None:
            _cache, workflow, kept_state, kept_version = entry
        else:
            with self._lock:
                entry = self._entries.pop(case_id, None)
            if entry is None:
                return None
            workflow, kept_state, kept_version = entry
        # Equal strings are compared by length, then memory: a few microseconds for a whole state.
        if kept_version != version_key or kept_state != state:
            return None
        return workflow

    def keep(self, session: Session, case_id: int, version_key: Any, workflow: Any, state: str) -> None:
        """Remember `workflow`, just written as `state`, for when `session` commits (the last write of a case in a
        transaction wins)."""
        if self.size > 0:
            session.info.setdefault(_PENDING, {})[case_id] = (self, workflow, state, version_key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _put(self, case_id: int, workflow: Any, state: str, version_key: Any) -> None:
        with self._lock:
            self._entries[case_id] = (workflow, state, version_key)
            self._entries.move_to_end(case_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@event.listens_for(Session, "after_commit")
def _commit_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for case_id, (cache, workflow, state, version_key) in (pending or {}).items():
        if cache.check_with is not None and cache.check_with(workflow) != state:
            raise WorkflowChangedAfterWrite(f"the workflow of case {case_id} was changed after it was written")
        cache._put(case_id, workflow, state, version_key)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    # Any rollback, a savepoint's included: what was kept may not be what is stored.
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: Any) -> None:
    # A transaction that ended without a commit (a closed session): after a commit nothing is pending any more.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
