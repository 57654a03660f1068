"""SpiffWorkflow's BPMN parser, extended to read Camunda forms and assignments; fed our safe XML tree."""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import EventDefinitionParser, StartEventParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    StartEvent,
    UserTask,
)
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import (
    SubWorkflowTask as SubWorkflowTaskMixin,
)

from bpm_livechat.processes.bpmn.assignment import entries
from bpm_livechat.processes.bpmn.checks import collection_variable
from bpm_livechat.processes.bpmn.decision_task import BusinessRuleTask, BusinessRuleTaskParser
from bpm_livechat.processes.bpmn.forms import read_form
from bpm_livechat.processes.bpmn.timer_events import clocked
from bpm_livechat.processes.bpmn.xml import BPMN_NS, CAMUNDA_NS, NSMAP, BpmnDocument
from bpm_livechat.processes.forms import FormField

FORM_KEY = "livechat_form"
ASSIGNEE_KEY = "livechat_assignee"
CANDIDATE_GROUPS_KEY = "livechat_candidate_groups"
CANDIDATE_USERS_KEY = "livechat_candidate_users"
FORM_KEY_KEY = "livechat_form_key"


class _FormReading:
    """Mixin for task parsers: put the node's camunda form into the spec's extensions.

    Extensions are plain JSON, so the form travels inside the serialized workflow and a task
    restored from JSON knows its form without the BPMN file.
    """

    node: etree._Element
    process_parser: Any

    def read_form_extensions(self) -> dict[str, Any]:
        definition = read_form(self.node)
        if definition.problems and self.process_parser.parser.strict_forms:
            first = definition.problems[0]
            name = f"form field {first.field_id!r}" if first.field_id else "form field"
            raise ValidationException(f"{name}: {first.message}", node=self.node)
        return {FORM_KEY: [form_field.to_dict() for form_field in definition.fields]}


class FormStartEventParser(_FormReading, StartEventParser):  # type: ignore[misc]
    """A start event parser that also reads camunda:formData (SpiffWorkflow's does not)."""

    def parse_extensions(self, node: etree._Element | None = None) -> dict[str, Any]:
        return self.read_form_extensions()


class FormUserTaskParser(_FormReading, TaskParser):  # type: ignore[misc]
    """A user task parser reading camunda:formData (with or without formKey) and assignments."""

    def parse_extensions(self, node: etree._Element | None = None) -> dict[str, Any]:
        extensions = self.read_form_extensions()
        attributes = self.node.attrib
        extensions[FORM_KEY_KEY] = attributes.get(f"{{{CAMUNDA_NS}}}formKey")
        extensions[ASSIGNEE_KEY] = attributes.get(f"{{{CAMUNDA_NS}}}assignee")
        groups = attributes.get(f"{{{CAMUNDA_NS}}}candidateGroups") or ""
        extensions[CANDIDATE_GROUPS_KEY] = entries(groups)
        extensions[CANDIDATE_USERS_KEY] = entries(attributes.get(f"{{{CAMUNDA_NS}}}candidateUsers"))
        return extensions


ELEMENT_VARIABLE = "livechat_element_variable"


class _CappedCollection:
    """Mixin for multi-instance specs: refuse an input collection larger than the engine's cap.

    A cardinality expression is capped where it is evaluated (the script engine); a collection
    is not evaluated, so the check happens here, before any instance is created.
    """

    data_input: Any

    def merge_child(self, workflow: Any, child: Any) -> None:
        """With camunda:elementVariable, an instance's data flows back without its item (the item
        is the instance's own, as in Camunda); otherwise SpiffWorkflow's merge."""
        item = getattr(self, ELEMENT_VARIABLE, None)
        if not item or item not in child.data:
            super().merge_child(workflow, child)  # type: ignore[misc]
            return
        value = child.data.pop(item)
        try:
            super().merge_child(workflow, child)  # type: ignore[misc]
        finally:
            child.data[item] = value

    def _update_hook(self, my_task: Any) -> Any:
        engine = my_task.workflow.top_workflow.script_engine
        check = getattr(engine, "check_cardinality", None)
        source = my_task.parent  # the data this task is about to inherit
        collection = self.data_input
        if collection is not None and source is not None:
            if not collection.exists(source):
                raise WorkflowDataException(
                    f"the collection to repeat over, {collection.bpmn_id!r}, is not in the task "
                    "data; set it (in a form or a script task) before this task",
                    my_task,
                )
            if check is not None:
                check(my_task, collection.get(source))
        return super()._update_hook(my_task)  # type: ignore[misc]


class CappedParallelMultiInstance(_CappedCollection, ParallelMultiInstanceTask):  # type: ignore[misc]
    """A parallel multi-instance activity whose instance count is capped."""


class CappedSequentialMultiInstance(_CappedCollection, SequentialMultiInstanceTask):  # type: ignore[misc]
    """A sequential multi-instance activity whose instance count is capped."""


CALL_BINDING = "livechat_call_binding"
ASYNC_BEFORE = "livechat_async_before"
ASYNC_AFTER = "livechat_async_after"
REPLY_TEMPLATE = "livechat_reply_template"
_TEXT_PARAMETER = (
    f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}inputOutput/{{{CAMUNDA_NS}}}inputParameter"
)


class _OurTasks:
    """Mixin for every task parser: mark camunda:asyncBefore/asyncAfter on the spec, which the
    engine honours as transaction boundaries (the spec is parsed, never serialized)."""

    node: etree._Element

    def create_task(self) -> Any:
        spec = super().create_task()  # type: ignore[misc]
        setattr(spec, ASYNC_BEFORE, self.node.get(f"{{{CAMUNDA_NS}}}asyncBefore") == "true")
        setattr(spec, ASYNC_AFTER, self.node.get(f"{{{CAMUNDA_NS}}}asyncAfter") == "true")
        setattr(spec, REPLY_TEMPLATE, reply_template(self.node))
        if etree.QName(self.node).localname == "callActivity":
            setattr(spec, CALL_BINDING, call_binding(self.node))
        return spec

    def _add_multiinstance_task(self, loop: etree._Element) -> None:
        """Camunda's multi-instance form: camunda:collection names the list in task data and
        camunda:elementVariable the variable each instance sees its item in."""
        collection = loop.get(f"{{{CAMUNDA_NS}}}collection")
        if collection is None:
            super()._add_multiinstance_task(loop)  # type: ignore[misc]
            return
        name = collection_variable(collection)
        if name is None:
            raise ValidationException(
                f"camunda:collection {collection!r} must name a task data variable", node=loop
            )
        element = (loop.get(f"{{{CAMUNDA_NS}}}elementVariable") or "").strip()
        condition = loop.find(f"{{{BPMN_NS}}}completionCondition")
        task: Any = self
        original = task.spec.task_specs.pop(task.task.name)
        sequential = loop.get("isSequential") == "true"
        spec_class = task.SEQUENTIAL_MI_CLASS if sequential else task.PARALLEL_MI_CLASS
        task.task = spec_class(
            task.spec,
            original.name,
            description=f"{'Sequential' if sequential else 'Parallel'} MultiInstance",
            task_spec="",
            cardinality=None,
            data_input=TaskDataReference(name),
            data_output=None,
            input_item=TaskDataReference(element) if element else None,
            output_item=None,
            condition=condition.text if condition is not None else None,
        )
        task._copy_task_attrs(original, loop)
        setattr(task.task, ELEMENT_VARIABLE, element or None)


def call_binding(node: etree._Element) -> tuple[str, str | None]:
    """A call activity's camunda:calledElementBinding (default "latest") and calledElementVersion."""
    binding = node.get(f"{{{CAMUNDA_NS}}}calledElementBinding") or "latest"
    return binding, node.get(f"{{{CAMUNDA_NS}}}calledElementVersion")


def reply_template(node: etree._Element) -> str | None:
    """The `text` input parameter of a send task or message throw event (a reply's template)."""
    for parameter in node.iterfind(_TEXT_PARAMETER):
        if parameter.get("name") == "text":
            return parameter.text or ""
    return None


class _ClockedTimers:
    """Mixin for event parsers: timers that read the engine's clock and take ISO 8601 text."""

    def parse_timer_event(self, event: etree._Element) -> Any:
        return clocked(super().parse_timer_event(event))  # type: ignore[misc]


def _ours(parser_class: type[TaskParser]) -> type[TaskParser]:
    """The parser class with our mixins: capped multi-instance specs, async flags, and clocked
    timers for event parsers (SpiffWorkflow's extension points)."""
    bases: tuple[type, ...] = (_OurTasks, parser_class)
    if issubclass(parser_class, EventDefinitionParser):
        bases = (_ClockedTimers, *bases)
    return type(
        parser_class.__name__,
        bases,
        {
            "PARALLEL_MI_CLASS": CappedParallelMultiInstance,
            "SEQUENTIAL_MI_CLASS": CappedSequentialMultiInstance,
        },
    )


_OUR_PARSERS = {
    full_tag("startEvent"): (FormStartEventParser, StartEvent),
    full_tag("userTask"): (FormUserTaskParser, UserTask),
    full_tag("businessRuleTask"): (BusinessRuleTaskParser, BusinessRuleTask),
}


class LivechatBpmnParser(BpmnParser):  # type: ignore[misc]
    """BpmnParser with our start event and user task parsers; one instance per BPMN document.

    With `strict_forms` (the engine's setting) a malformed form field is a parse error;
    deployment validation turns it off because it reports form problems itself, all at once.
    """

    OVERRIDE_PARSER_CLASSES = {
        tag: (_ours(parser_class), spec_class)
        for tag, (parser_class, spec_class) in {**BpmnParser.PARSER_CLASSES, **_OUR_PARSERS}.items()
    }

    def __init__(self, *, strict_forms: bool = True) -> None:
        super().__init__(namespaces=dict(NSMAP))
        self.strict_forms = strict_forms

    def add_document(self, document: BpmnDocument, filename: str | None = None) -> None:
        """Add a document parsed by bpmn_xml, never raw bytes parsed with lxml's defaults."""
        self.add_bpmn_xml(document.root, filename=filename)


def form_of(task_spec: Any) -> tuple[FormField, ...]:
    """The form fields of a task spec parsed (or restored) with our parser; () when it has none."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return tuple(FormField.from_dict(item) for item in extensions.get(FORM_KEY, ()))


def assignment_of(task_spec: Any) -> tuple[str | None, tuple[str, ...]]:
    """The camunda:assignee and camunda:candidateGroups of a user task spec."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return extensions.get(ASSIGNEE_KEY), tuple(extensions.get(CANDIDATE_GROUPS_KEY, ()))


def candidate_users_of(task_spec: Any) -> tuple[str, ...]:
    """The camunda:candidateUsers entries of a user task spec (usernames or expressions)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return tuple(extensions.get(CANDIDATE_USERS_KEY, ()))


def in_file_specs(parser: BpmnParser, process_id: str) -> dict[str, Any]:
    """The specs of the subprocesses a process calls that its own file holds (the others come
    from other deployed files, see processes.library)."""
    found: dict[str, Any] = {}
    pending = [parser.get_spec(process_id)]
    while pending:  # SpiffWorkflow's get_subprocess_specs requires nested ones in the file
        for task_spec in pending.pop().task_specs.values():
            called = getattr(task_spec, "spec", None)
            if (
                isinstance(task_spec, SubWorkflowTaskMixin)
                and isinstance(called, str)
                and called not in found
                and parser.get_process_parser(called) is not None
            ):
                found[called] = parser.get_spec(called)
                pending.append(found[called])
    return found
