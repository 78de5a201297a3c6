"""Engine services: each call is one transaction, takes the acting user and `now` explicitly."""

from engine.services.cases import get_case, list_cases, open_case, reveal_id_number
from engine.services.tasks import claim_task, complete_task, list_tasks, release_task, task_in_scope

__all__ = ["claim_task", "complete_task", "get_case", "list_cases", "list_tasks", "open_case", "release_task",
           "reveal_id_number", "task_in_scope"]
