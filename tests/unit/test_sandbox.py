"""Process models run in a sandbox: scripts, gateway conditions and timer expressions get a short allow-list of
builtins and the engine's helpers, and cannot reach the OS. Each case builds a tiny BPMN and runs it through
engine.runtime exactly as a case would run."""

from __future__ import annotations

import os
import tempfile
from xml.sax.saxutils import escape

import pytest

from engine.clock import engine_context
from engine.runtime import Runtime
from tests.conftest import at

NOW = at("2021-02-08 10:00")  # a Monday, just before the Spring Festival holiday

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="test">
  <bpmn:process id="sandbox_probe" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_no">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="mark_yes" scriptFormat="python">
      <bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>branch = 'yes'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="mark_no" scriptFormat="python">
      <bpmn:incoming>f_no</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>branch = 'no'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition>
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{timer}</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script"/>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="mark_yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="mark_no"/>
    <bpmn:sequenceFlow id="f3" sourceRef="mark_yes" targetRef="wait"/>
    <bpmn:sequenceFlow id="f4" sourceRef="mark_no" targetRef="wait"/>
    <bpmn:sequenceFlow id="f5" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

_counter = iter(range(10**6))
# A file a successful escape would create.
PWNED = os.path.join(tempfile.gettempdir(), f"sandbox-pwned-{os.getpid()}")


def run(script: str = "x = 1", condition: str = "True", timer: str = "working_days_after(now(), 1)",
        data: dict | None = None):
    """Parse and start the probe model (fresh runtime, so nothing is cached between cases)."""
    runtime = Runtime()
    xml = BPMN.format(script=escape(script), condition=escape(condition), timer=escape(timer))
    parsed = runtime.parse(("sandbox", next(_counter)), "sandbox_probe", {"sandbox_probe.bpmn": xml})
    with engine_context(NOW):
        workflow = runtime.start(parsed, data or {})
    return runtime, parsed, workflow


def root_cause(exc: BaseException) -> BaseException:
    """SpiffWorkflow wraps a model's error in WorkflowTaskException; find what actually stopped it."""
    seen = exc
    while True:
        inner = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
        if inner is None or inner is seen:
            return seen
        seen = inner


def refused(**model) -> BaseException:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the cause is checked below
        run(**model)
    assert not os.path.exists(PWNED), "the model reached the operating system"
    cause = root_cause(info.value)
    # Refused by the sandbox (checked code or missing builtin), not by some unrelated bug in the probe.
    assert type(cause).__name__ in ("UnsafeExpression", "NameError"), repr(cause)
    return cause


# ---------------------------------------------------------------------------------------------------------------
# What a model may do.

def test_allowed_helpers_work_in_scripts_conditions_and_timers():
    runtime, parsed, wf = run(
        script=(
            "due = working_days_after('2021-02-08T10:00:00+08:00', 3)\n"
            "total_text = money_str(money('100.10') + money('0.20'))\n"
            "deadline_days = rule('payment_deadline_days')\n"
            "stamp = now()\n"
            "names = sorted([k for k in ('b', 'a')])\n"
            "count = len(names) + sum([1, 2]) + max(1, 2)\n"
        ),
        condition="money(total_text) > money('100') and count == 7",
    )
    data = wf.data | runtime.inspect(wf).data
    # 9 and 10 Feb are working days, 11-17 Feb the Spring Festival, 18 Feb the third working day.
    assert data["due"].startswith("2021-02-18")
    assert data["total_text"] == "100.30"
    assert data["deadline_days"] == 3
    assert data["stamp"] == "2021-02-08T10:00:00+08:00"
    assert data["branch"] == "yes"
    [(_, fire_at)] = runtime.inspect(wf).waiting_timers
    assert fire_at.isoformat().startswith("2021-02-09")

    # The state survives a save/reload, and the timer fires on the engine's clock.
    restored = runtime.loads(parsed, runtime.dumps(wf))
    with engine_context(at("2021-02-10 00:00")):
        runtime.fire_due_timers(restored)
    assert restored.is_completed()


def test_condition_false_takes_the_default_flow():
    runtime, _, wf = run(condition="money('5') > money('10')")
    assert runtime.inspect(wf).data["branch"] == "no"


def test_money_refuses_floats_inside_models():
    with pytest.raises(Exception) as info:  # noqa: PT011 - cause checked
        run(script="x = money(1.5)")
    assert isinstance(root_cause(info.value), TypeError)


# ---------------------------------------------------------------------------------------------------------------
# What a model may not do.

ESCAPES = [
    f"__import__('os').system('touch {PWNED}')",
    "open('/etc/passwd').read()",
    "().__class__.__bases__[0].__subclasses__()",
    "getattr(money, '__globals__')['os']",
    "money.__globals__",
    "rule.__module__",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'x', 'eval')",
    "globals()",
    "vars()",
    "type(money)",
    "'{0.__class__}'.format(money)",
    "'{x}'.format_map({'x': 1})",
    "(x for x in [1]).gi_frame.f_globals",
    "dict.mro()",
    "breakpoint()",
    "__builtins__",
    "_ = 1",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escapes_fail_in_scripts(expression):
    refused(script=f"result = {expression}" if not expression.startswith("_ ") else expression)


@pytest.mark.parametrize("expression", ESCAPES[:-1])
def test_escapes_fail_in_gateway_conditions(expression):
    refused(condition=f"bool({expression})")


@pytest.mark.parametrize("expression", ["__import__('os').getcwd()", "open('/etc/passwd').read(10)",
                                        "str(().__class__.__bases__)"])
def test_escapes_fail_in_timer_expressions(expression):
    refused(timer=expression)


@pytest.mark.parametrize("script", [
    "import os",
    "import os as o\nresult = o.getcwd()",
    "from os import system",
    "from subprocess import run",
    "global x\nx = 1",
])
def test_imports_fail_in_script_tasks(script):
    cause = refused(script=script)
    assert type(cause).__name__ == "UnsafeExpression"


FRAME_ESCAPE = """
async def probe():
    yield it.ag_frame.f_back.f_back.f_builtins
it = probe()
try:
    it.asend(None).send(None)
except StopIteration as stop:
    result = stop.value['__import__']('os').getcwd()
"""


def test_frame_walking_from_a_running_coroutine_is_refused():
    """A running async generator's frame leads back to the engine's own frame and the real builtins."""
    refused(script=FRAME_ESCAPE)


@pytest.mark.parametrize("script", [
    "def g():\n    yield 1\nresult = [f.gi_frame for f in [g()]]",
    "def f():\n    return 1\nresult = f.__code__",
    "result = (lambda: 0).__globals__",
])
def test_introspection_of_functions_and_generators_is_refused(script):
    refused(script=script)


@pytest.mark.parametrize("model", [{"script": "result = open('/etc/passwd').read()"},
                                   {"condition": "bool(open('/etc/passwd').read())"}])
def test_task_data_cannot_replace_the_builtins(model):
    """Data comes from requests; a `__builtins__` key in it must not restore the real builtins."""
    import builtins

    with pytest.raises(Exception) as info:  # noqa: PT011 - the cause is checked below
        run(data={"__builtins__": builtins.__dict__}, **model)
    cause = root_cause(info.value)
    assert isinstance(cause, NameError) or "overwrites a predefined" in str(cause), repr(cause)


def test_amounts_are_rounded_half_up_to_the_fen():
    # 四舍五入: a benefit of 1234.565 yuan is 1234.57, as the rates module states amounts too (not banker's 1234.56).
    from engine.sandbox import money_str

    assert money_str("1234.565") == "1234.57" and money_str("0.005") == "0.01" and money_str("2.675") == "2.68"
