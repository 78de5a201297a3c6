"""The SpiffWorkflow front: parser, timers on the engine's clock (engine.clock), state-only serialization and the
Runtime that runs workflows with the sandboxed script engine (engine.sandbox).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffStartEventParser,
)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.clock import current_now
from engine.rules import RULES
from engine.sandbox import BPMN_HELPERS, SandboxEnvironment

# ---------------------------------------------------------------------------------------------------------------
# Timers on the engine's clock.

def _parse_moment(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else TimerEventDefinition.get_datetime(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


class _ClockedTimer:
    """has_fired on the engine's clock (SpiffWorkflow's reads the wall clock). The first evaluation fixes the fire
    time in the task's internal data, so a saved workflow keeps it."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = self._fire_time(my_task)
            my_task._set_internal_data(event_value=event_value)
        if _parse_moment(event_value) <= current_now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedTimeDateEventDefinition(_ClockedTimer, TimeDateEventDefinition):
    def _fire_time(self, my_task) -> str:
        value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        return value.isoformat() if isinstance(value, datetime) else value


class ClockedDurationTimerEventDefinition(_ClockedTimer, DurationTimerEventDefinition):
    def _fire_time(self, my_task) -> str:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        parsed = TimerEventDefinition.parse_iso_duration(expression)
        start = current_now()
        return (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()


class _ClockedTimerParser:
    def parse_timer_event(self, event):
        parsed = super().parse_timer_event(event)
        if isinstance(parsed, CycleTimerEventDefinition):
            # Cycle timers would read the wall clock; no model needs them.
            raise ValidationException("cycle timers are not supported", node=self.node, file_name=self.filename)
        cls = {
            TimeDateEventDefinition: ClockedTimeDateEventDefinition,
            DurationTimerEventDefinition: ClockedDurationTimerEventDefinition,
        }[type(parsed)]
        return cls(parsed.name, parsed.expression, description=parsed.description)


class _StartEventParser(_ClockedTimerParser, SpiffStartEventParser):
    pass


class _BoundaryEventParser(_ClockedTimerParser, SpiffBoundaryEventParser):
    pass


class _IntermediateCatchEventParser(_ClockedTimerParser, SpiffIntermediateCatchEventParser):
    pass


class EngineParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (_StartEventParser, SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("startEvent")][1]),
        full_tag("boundaryEvent"): (
            _BoundaryEventParser,
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("boundaryEvent")][1],
        ),
        full_tag("intermediateCatchEvent"): (
            _IntermediateCatchEventParser,
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("intermediateCatchEvent")][1],
        ),
    }


# ---------------------------------------------------------------------------------------------------------------
# Parsed process versions and state-only serialization.

@dataclass(frozen=True)
class UserTaskMeta:
    name: str
    title: str
    role: str
    form_file: str | None
    due_rule: str | None
    due_clock_pauses: bool = False  # earlier rounds of the task count against its rule (bpmn/README.md)


@dataclass
class ParsedProcess:
    process: str
    spec: Any
    subprocess_specs: dict
    user_tasks: dict[str, UserTaskMeta]
    forms: dict[str, dict]  # file name -> JSON Schema


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec (two thirds of the blob and most of the load time); the spec comes
    from the parsed process version the case references."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("a spec is needed to restore workflow state")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


@dataclass
class WorkflowView:
    workflow: BpmnWorkflow
    ready_user_tasks: list
    waiting_timers: list[tuple[Any, datetime]]  # (task, fire time) of every timer event not fired yet
    completed: list

    @cached_property
    def data(self) -> dict[str, Any]:
        """The case's business data: every completed task's own changes applied in the order they happened.

        Branches each carry a copy of the data (the non-interrupting case-clock branch holds a snapshot from when
        it fired), so no single task's data is the truth; last write wins across branches."""
        merged = dict(self.workflow.data)
        for task in sorted(self.completed, key=lambda t: t.last_state_change):
            parent_data = task.parent.data if task.parent is not None else {}
            for key, value in task.data.items():
                if key not in parent_data or parent_data[key] != value:
                    merged[key] = value
        return merged


def _is_user_task(task_spec) -> bool:
    return isinstance(task_spec, UserTaskMixin)


class Runtime:
    """Parses process versions once, and runs, saves and restores workflows."""

    def __init__(self, helpers: Mapping[str, Any] | None = None):
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = _StateOnlyWorkflowConverter
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        self.script_engine = PythonScriptEngine(environment=SandboxEnvironment(helpers or BPMN_HELPERS))
        self._parsed: dict[Any, ParsedProcess] = {}

    # -- process versions -------------------------------------------------------------------------------------
    def parse(self, key: Any, process: str, files: Mapping[str, str]) -> ParsedProcess:
        """Parse the files of one process version; cached under `key` (the version id)."""
        cached = self._parsed.get(key)
        if cached is not None:
            return cached
        parser = EngineParser()
        for name in sorted(files):
            if name.endswith(".bpmn"):
                parser.add_bpmn_str(files[name].encode("utf-8"), filename=name)
        for name in sorted(files):
            if name.endswith(".dmn"):
                parser.add_dmn_str(files[name].encode("utf-8"), filename=name)
        spec = parser.get_spec(process)
        subprocess_specs = parser.get_subprocess_specs(process)
        forms = {name: json.loads(text) for name, text in files.items() if name.endswith(".schema.json")}
        user_tasks: dict[str, UserTaskMeta] = {}
        for s in [spec, *subprocess_specs.values()]:
            for task_spec in s.task_specs.values():
                if not _is_user_task(task_spec):
                    continue
                props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
                form_file = props.get("formJsonSchemaFilename")
                if form_file and form_file not in forms:
                    raise ValidationException(f"form {form_file} of {task_spec.bpmn_id} is missing", file_name=process)
                due_rule = props.get("dueRule")
                if due_rule and due_rule not in RULES:
                    raise ValidationException(f"dueRule {due_rule} of {task_spec.bpmn_id} is not a rule in "
                                              "engine/rules.py", file_name=process)
                pauses = props.get("dueClockPauses") == "true"
                if pauses and (not due_rule or RULES[due_rule].unit != "working_days"):
                    raise ValidationException(f"dueClockPauses of {task_spec.bpmn_id} needs a dueRule counted in "
                                              "working days", file_name=process)
                user_tasks[task_spec.bpmn_id] = UserTaskMeta(
                    name=task_spec.bpmn_id,
                    title=task_spec.bpmn_name or task_spec.bpmn_id,
                    role=task_spec.lane or "",
                    form_file=form_file,
                    due_rule=due_rule or None,
                    due_clock_pauses=pauses,
                )
        parsed = ParsedProcess(process, spec, subprocess_specs, user_tasks, forms)
        self._parsed[key] = parsed
        return parsed

    def cached(self, key: Any) -> ParsedProcess | None:
        return self._parsed.get(key)

    def forget_parsed(self) -> None:
        self._parsed.clear()

    # -- workflows ----------------------------------------------------------------------------------------------
    def start(self, parsed: ParsedProcess, data: Mapping[str, Any]) -> BpmnWorkflow:
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=self.script_engine)
        workflow.data.update(data)
        # The start task carries the initial data into the first tasks.
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        workflow.do_engine_steps()
        return workflow

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self.serializer.serialize_json(workflow)

    def loads(self, parsed: ParsedProcess, state: str) -> BpmnWorkflow:
        dct = json.loads(state)
        self.serializer.migrate(dct)
        workflow = self.serializer.from_dict(dct, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow

    @staticmethod
    def inspect(workflow: BpmnWorkflow) -> WorkflowView:
        """What the projection needs of a workflow, from one walk of its task tree (each get_tasks is a walk)."""
        ready, waiting, completed = [], [], []
        for task in workflow.get_tasks():
            state = task.state
            if state == TaskState.READY and _is_user_task(task.task_spec):
                ready.append(task)
            elif state in (TaskState.WAITING, TaskState.READY):
                # READY: a timer whose time came during this step (do_engine_steps ends by refreshing the timers,
                # without running those that became due). It is still the sweeper's to fire: without its row it
                # would run only at the case's next step, if any.
                definition = getattr(task.task_spec, "event_definition", None)
                if isinstance(definition, TimerEventDefinition):
                    value = task._get_internal_data("event_value")
                    if value is not None:
                        waiting.append((task, _parse_moment(value)))
            elif state == TaskState.COMPLETED:
                completed.append(task)
        return WorkflowView(workflow, ready, waiting, completed)

    @staticmethod
    def waits_on(workflow: BpmnWorkflow, task_id: str) -> bool:
        """Whether the task with this id is there and still waiting (a timer that has not fired)."""
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except TaskNotFoundException:
            return False
        return task.state == TaskState.WAITING

    @staticmethod
    def complete_user_task(workflow: BpmnWorkflow, task_id, data: Mapping[str, Any]) -> None:
        task = workflow.get_task_from_id(task_id)
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()

    @staticmethod
    def fire_due_timers(workflow: BpmnWorkflow) -> None:
        workflow.refresh_timers()
        workflow.do_engine_steps()
