"""Static checks of every process model under bpmn/ (see bpmn/README.md for the conventions).

Generic over every ``bpmn/<process>/<process>.bpmn``: a new process folder is picked up automatically.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
from pathlib import Path

import jsonschema
import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
MODEL_FILES = sorted(BPMN_DIR.glob("*/*.bpmn"))
PROCESS_DIRS = sorted({path.parent for path in MODEL_FILES})

ROLES = {"inspector", "clerk", "supervisor", "head"}

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
BPMN = f"{{{NS['bpmn']}}}"

FLOW_NODE_TAGS = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
}
SUBPROCESS_TAGS = {"subProcess", "transaction", "adHocSubProcess"}


def _ids(paths: list[Path]) -> list[str]:
    return [path.parent.name if path.suffix == ".bpmn" else path.name for path in paths]


# ---------------------------------------------------------------------------------------------- helpers


@functools.cache
def _tree(path: Path) -> etree._ElementTree:
    return etree.parse(str(path))


@functools.cache
def _parser(path: Path) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)  # validates against the BPMN 2.0 XSD (+ spiffworkflow ext.)
    parser.add_bpmn_file(str(path))
    dmn_files = sorted(str(p) for p in path.parent.glob("*.dmn"))
    if dmn_files:
        parser.add_dmn_files(dmn_files)
    return parser


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _process(path: Path) -> etree._Element:
    processes = _tree(path).getroot().findall(f"{BPMN}process")
    matching = [p for p in processes if p.get("id") == path.parent.name]
    assert matching, f"{path.name}: no bpmn:process with id {path.parent.name!r} (the folder name)"
    return matching[0]


def _flow_nodes(path: Path) -> list[etree._Element]:
    """All flow nodes of the model, including the ones inside (nested) sub-processes."""
    root = _tree(path).getroot()
    return [el for el in root.iter(f"{BPMN}*") if _local(el) in FLOW_NODE_TAGS]


def _sequence_flows(path: Path) -> list[etree._Element]:
    return list(_tree(path).getroot().iter(f"{BPMN}sequenceFlow"))


def _lanes(path: Path) -> list[etree._Element]:
    return list(_tree(path).getroot().iter(f"{BPMN}lane"))


def _lane_of(path: Path) -> dict[str, str]:
    """flow node id -> name of the lane that lists it as flowNodeRef."""
    result: dict[str, str] = {}
    for lane in _lanes(path):
        for ref in lane.findall(f"{BPMN}flowNodeRef"):
            result[ref.text.strip()] = lane.get("name")
    return result


def _bounds(path: Path) -> dict[str, tuple[float, float, float, float]]:
    """bpmnElement -> (x1, y1, x2, y2) of its BPMNShape."""
    result = {}
    for shape in _tree(path).getroot().iterfind(".//bpmndi:BPMNShape", NS):
        bounds = shape.find("dc:Bounds", NS)
        if bounds is None:
            continue
        x, y = float(bounds.get("x")), float(bounds.get("y"))
        result[shape.get("bpmnElement")] = (x, y, x + float(bounds.get("width")), y + float(bounds.get("height")))
    return result


def _contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _intersects(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _all_specs(path: Path):
    parser = _parser(path)
    name = path.parent.name
    return [parser.get_spec(name), *parser.get_subprocess_specs(name).values()]


def _user_task_specs(path: Path) -> dict[str, UserTask]:
    return {
        spec_name: task_spec
        for spec in _all_specs(path)
        for spec_name, task_spec in spec.task_specs.items()
        if isinstance(task_spec, UserTask)
    }


def _properties(element: etree._Element) -> dict[str, str]:
    props = element.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    return {p.get("name"): p.get("value") for p in props}


def _walk_schema(node, where="#"):
    """Yield (json pointer, sub-schema) for every dict in a JSON Schema document."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk_schema(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_schema(value, f"{where}/{index}")


def _expressions(path: Path):
    """Yield (where, python source, mode) for every script, condition and timer expression."""
    root = _tree(path).getroot()
    for script in root.iter(f"{BPMN}script"):
        yield script.getparent().get("id"), script.text or "", "exec"
    for cond in root.iter(f"{BPMN}conditionExpression"):
        yield cond.getparent().get("id"), cond.text or "", "eval"
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        for timer in root.iter(f"{BPMN}{tag}"):
            yield timer.getparent().getparent().get("id"), timer.text or "", "eval"


# ---------------------------------------------------------------------------------------------- tests


def test_there_are_models():
    assert MODEL_FILES, f"no process models found under {BPMN_DIR}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_model_file_is_named_after_its_folder(path):
    assert path.name == f"{path.parent.name}.bpmn"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_parses_and_builds_the_spec(path):
    spec = _parser(path).get_spec(path.parent.name)
    assert spec.name == path.parent.name
    assert _process(path).get("isExecutable") == "true"
    _parser(path).get_subprocess_specs(path.parent.name)  # embedded sub-processes resolve too


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_every_element_is_drawn(path):
    shapes = {s.get("bpmnElement") for s in _tree(path).getroot().iterfind(".//bpmndi:BPMNShape", NS)}
    bounds = _bounds(path)
    edges = {e.get("bpmnElement"): e for e in _tree(path).getroot().iterfind(".//bpmndi:BPMNEdge", NS)}

    nodes = [el.get("id") for el in _flow_nodes(path)]
    lanes = [el.get("id") for el in _lanes(path)]
    participants = [el.get("id") for el in _tree(path).getroot().iter(f"{BPMN}participant")]
    flows = [el.get("id") for el in _sequence_flows(path)]

    missing_shapes = [i for i in nodes + lanes + participants if i not in shapes or i not in bounds]
    assert not missing_shapes, f"no BPMNShape with bounds for {missing_shapes}"
    missing_edges = [i for i in flows if i not in edges]
    assert not missing_edges, f"no BPMNEdge for {missing_edges}"
    short_edges = [i for i in flows if len(edges[i].findall("di:waypoint", NS)) < 2]
    assert not short_edges, f"BPMNEdge with fewer than 2 waypoints for {short_edges}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_expanded_subprocesses_contain_their_children(path):
    bounds = _bounds(path)
    shapes = {s.get("bpmnElement"): s for s in _tree(path).getroot().iterfind(".//bpmndi:BPMNShape", NS)}
    for sub in _flow_nodes(path):
        if _local(sub) not in SUBPROCESS_TAGS:
            continue
        children = [el for el in sub if _local(el) in FLOW_NODE_TAGS]
        if not children:
            continue
        assert shapes[sub.get("id")].get("isExpanded") == "true", f"{sub.get('id')}: draw it expanded"
        outside = [c.get("id") for c in children if not _contains(bounds[sub.get("id")], bounds[c.get("id")])]
        assert not outside, f"{sub.get('id')}: children drawn outside its bounds: {outside}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_lanes_are_roles_and_hold_the_flow_nodes(path):
    lanes = _lanes(path)
    assert lanes, "the process needs a laneSet: lanes are roles"
    names = [lane.get("name") for lane in lanes]
    assert set(names) <= ROLES, f"lane names must be role codes {sorted(ROLES)}, got {names}"
    assert len(names) == len(set(names)), f"duplicate lanes {names}"

    refs = [ref.text.strip() for lane in lanes for ref in lane.findall(f"{BPMN}flowNodeRef")]
    duplicated = sorted({r for r in refs if refs.count(r) > 1})
    assert not duplicated, f"flow nodes listed in more than one lane: {duplicated}"
    node_ids = {el.get("id") for el in _flow_nodes(path)}
    dangling = sorted(set(refs) - node_ids)
    assert not dangling, f"flowNodeRef to unknown nodes: {dangling}"

    # Every flow node sits in a lane. An expanded sub-process spanning several lanes may stay out of the
    # laneSet (its children carry their own lanes; see test_user_task_lane_is_the_one_it_is_drawn_in).
    lane_of = _lane_of(path)
    unassigned = [
        el.get("id") for el in _flow_nodes(path) if el.get("id") not in lane_of and _local(el) not in SUBPROCESS_TAGS
    ]
    assert not unassigned, f"flow nodes in no lane: {unassigned}"

    # ... and is drawn in that lane
    bounds = _bounds(path)
    lane_bounds = {lane.get("name"): bounds[lane.get("id")] for lane in lanes if lane.get("id") in bounds}
    misplaced = []
    for node_id, lane_name in lane_of.items():
        if node_id in bounds and lane_name in lane_bounds:
            x1, y1, x2, y2 = bounds[node_id]
            lx1, ly1, lx2, ly2 = lane_bounds[lane_name]
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            if not (lx1 <= cx <= lx2 and ly1 <= cy <= ly2):
                misplaced.append(f"{node_id} (lane {lane_name})")
    assert not misplaced, f"flow nodes drawn outside their lane: {misplaced}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_user_task_lane_is_the_one_it_is_drawn_in(path):
    # SpiffWorkflow gives every node inside an embedded sub-process the lane of the sub-process itself when the
    # sub-process is listed in a lane, ignoring the nodes' own flowNodeRef. The runtime reads task_spec.lane.
    lane_of = _lane_of(path)
    specs = _user_task_specs(path)
    wrong = {name: (ts.lane, lane_of.get(name)) for name, ts in specs.items() if ts.lane != lane_of.get(name)}
    assert not wrong, f"task_spec.lane differs from the flowNodeRef lane (spec, xml): {wrong}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_user_tasks_have_role_form_and_due_rule(path):
    elements = [el for el in _flow_nodes(path) if _local(el) == "userTask"]
    specs = _user_task_specs(path)
    assert {el.get("id") for el in elements} == set(specs), "every bpmn:userTask must become a UserTask spec"

    for el in elements:
        task_id = el.get("id")
        spec = specs[task_id]
        assert el.get("name"), f"{task_id}: needs a (Chinese) name, shown in the queues"
        assert spec.lane in ROLES, f"{task_id}: lane {spec.lane!r} is not a role"

        props = spec.extensions.get("properties", {})
        assert _properties(el).items() <= props.items(), f"{task_id}: extension properties not parsed"
        form = props.get("formJsonSchemaFilename")
        assert form == f"{task_id}.schema.json", f"{task_id}: formJsonSchemaFilename must be {task_id}.schema.json"
        form_path = path.parent / form
        assert form_path.is_file(), f"{task_id}: form {form} does not exist"
        schema = json.loads(form_path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)

        due_rule = props.get("dueRule")
        assert due_rule and due_rule.isidentifier(), f"{task_id}: dueRule missing or not a rule key: {due_rule!r}"


def _schema_files() -> list[Path]:
    return sorted(p for d in PROCESS_DIRS for p in d.glob("*.schema.json"))


SCHEMA_FILES = _schema_files()


@pytest.mark.parametrize("process_dir", PROCESS_DIRS, ids=[d.name for d in PROCESS_DIRS])
def test_intake_schema(process_dir):
    path = process_dir / "intake.schema.json"
    assert path.is_file(), f"{process_dir.name}: intake.schema.json is missing"
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("type") == "object"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[f"{p.parent.name}/{p.name}" for p in SCHEMA_FILES])
def test_form_schema_conventions(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("type") == "object" and schema.get("title"), "top level: an object with a title"
    for where, node in _walk_schema(schema):
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{where}: additionalProperties must be false"
            untitled = [k for k, v in node["properties"].items() if not v.get("title")]
            assert not untitled, f"{where}: properties without title: {untitled}"
            unknown = [k for k in node.get("required", []) if k not in node["properties"]]
            assert not unknown, f"{where}: required names unknown properties {unknown}"
        if "enum" in node and node.get("type") == "string":
            titles = node.get("x-enum-titles", {})
            assert set(titles) == set(node["enum"]), f"{where}: x-enum-titles must cover exactly the enum"
        if node.get("format") == "money":
            assert node.get("type") == "string" and node.get("pattern"), f"{where}: money is a string with pattern"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_flow_node_shapes_do_not_overlap(path):
    bounds = _bounds(path)
    nodes = {el.get("id"): el for el in _flow_nodes(path)}
    attached = {el.get("id"): el.get("attachedToRef") for el in nodes.values() if _local(el) == "boundaryEvent"}

    def allowed(a: str, b: str) -> bool:
        for outer, inner in ((a, b), (b, a)):
            # an expanded sub-process container holds its children (and boundary events sit on its border)
            if _local(nodes[outer]) in SUBPROCESS_TAGS and _contains(bounds[outer], bounds[inner]):
                return True
            if attached.get(inner) == outer:
                return True
        return False

    overlapping = [
        (a, b)
        for a, b in itertools.combinations(sorted(i for i in nodes if i in bounds), 2)
        if _intersects(bounds[a], bounds[b]) and not allowed(a, b)
    ]
    assert not overlapping, f"overlapping shapes: {overlapping}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_exclusive_gateways_route_every_token(path):
    flows = {f.get("id"): f for f in _sequence_flows(path)}
    for gateway in _flow_nodes(path):
        if _local(gateway) not in ("exclusiveGateway", "inclusiveGateway"):
            continue
        outgoing = [f for f in flows.values() if f.get("sourceRef") == gateway.get("id")]
        default = gateway.get("default")
        if default:
            assert default in {f.get("id") for f in outgoing}, f"{gateway.get('id')}: default is not outgoing"
        if len(outgoing) > 1:
            bare = [
                f.get("id") for f in outgoing if f.get("id") != default and f.find(f"{BPMN}conditionExpression") is None
            ]
            assert not bare, f"{gateway.get('id')}: flows without condition that are not the default: {bare}"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_timers_are_time_date_expressions(path):
    for timer in _tree(path).getroot().iter(f"{BPMN}timerEventDefinition"):
        owner = timer.getparent().get("id")
        assert timer.find(f"{BPMN}timeDate") is not None, f"{owner}: timers use timeDate (the engine's clock)"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_expressions_are_python_without_private_names(path):
    for where, source, mode in _expressions(path):
        assert source.strip(), f"{where}: empty expression"
        tree = ast.parse(source.strip(), mode=mode)
        for node in ast.walk(tree):
            name = getattr(node, "id", None) or getattr(node, "attr", None)
            assert not (name and name.startswith("_")), f"{where}: {name!r} is not allowed in the sandbox"
            assert not isinstance(node, (ast.Import, ast.ImportFrom)), f"{where}: no imports in the sandbox"


@pytest.mark.parametrize("path", MODEL_FILES, ids=_ids(MODEL_FILES))
def test_end_events_of_the_top_level_finish_the_case_or_a_side_branch(path):
    # A plain end event at the top level only ends its own token; the case must end on a terminate end event,
    # so there is at least one of those at the top level of the process.
    process = _process(path)
    ends = [el for el in process if _local(el) == "endEvent"]
    terminating = [el for el in ends if el.find(f"{BPMN}terminateEventDefinition") is not None]
    assert terminating, "the process needs a terminate end event at its top level"


def test_a_due_rule_that_is_not_a_rule_is_refused_when_the_process_is_parsed():
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    from engine import processes
    from engine.runtime import Runtime

    files = processes.read_files("wage_arrears")
    files["wage_arrears.bpmn"] = files["wage_arrears.bpmn"].replace(
        'name="dueRule" value="acceptance_review_days"', 'name="dueRule" value="acceptance_review_dayz"')
    with pytest.raises(ValidationException, match="acceptance_review_dayz"):
        Runtime().parse("typo", "wage_arrears", files)


def test_a_paused_clock_needs_a_working_day_rule():
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    from engine import processes
    from engine.runtime import Runtime

    files = processes.read_files("wage_arrears")
    # claim_review_days counts calendar days: working days used cannot be taken off it.
    files["wage_arrears.bpmn"] = files["wage_arrears.bpmn"].replace(
        'name="dueRule" value="acceptance_review_days"', 'name="dueRule" value="claim_review_days"')
    with pytest.raises(ValidationException, match="dueClockPauses of review_complaint"):
        Runtime().parse("calendar days", "wage_arrears", files)
    assert Runtime().parse("as shipped", "wage_arrears", processes.read_files("wage_arrears")).user_tasks[
        "review_complaint"].due_clock_pauses
