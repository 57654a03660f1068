"""Start and task forms: parsed from camunda:formData, validated all at once into typed data."""

from __future__ import annotations

from datetime import date

import pytest
from lxml import etree

from bpm_livechat.errors import ValidationError
from bpm_livechat.params.types import ParamType
from bpm_livechat.processes.bpmn.forms import read_form
from bpm_livechat.processes.bpmn.parser import LivechatBpmnParser, assignment_of, form_of
from bpm_livechat.processes.bpmn.xml import parse_bpmn_xml
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.forms import FormField, FormOption, prefill, validate_form
from tests.engine.support import bpmn_bytes, line_containing

PARAMS = {
    "email": (ParamType.EMAIL, ()),
    "phone": (ParamType.PHONE, ()),
    "segment": (ParamType.CHOICE, ("vip", "standard")),
}


def _parsed(name: str) -> LivechatBpmnParser:
    parser = LivechatBpmnParser()
    parser.add_document(parse_bpmn_xml(bpmn_bytes(name)))
    return parser


def test_start_event_form_is_parsed(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("contact_details.bpmn"))
    fields = engine.start_form(parsed, "collect_contact_details")
    assert [f.id for f in fields] == ["email", "phone", "contact_time", "callback_count"]
    email, phone, contact_time, callbacks = fields
    assert (email.label, email.type, email.required) == ("Email", "string", True)
    assert email.line == line_containing("contact_details.bpmn", 'formField id="email"')
    assert (phone.required, phone.default) == (False, None)
    assert contact_time.options == (
        FormOption("morning", "Morning"),
        FormOption("afternoon", "Afternoon"),
        FormOption("any", "Any time"),
    )
    assert (contact_time.type, contact_time.default) == ("enum", "any")
    assert (callbacks.type, callbacks.min, callbacks.max, callbacks.default) == ("long", 0, 10, "0")


def test_user_task_form_and_assignment_are_parsed() -> None:
    spec = _parsed("request_triage.bpmn").get_spec("register_request")
    review = spec.task_specs["review"]
    assert [(f.id, f.type) for f in form_of(review)] == [
        ("approved", "boolean"),
        ("comment", "string"),
        ("follow_up", "date"),
    ]
    comment, follow_up = form_of(review)[1:]
    assert comment.maxlength == 200
    assert follow_up.min == date(2020, 1, 1)
    assert assignment_of(review) == (None, ("supervisors", "finance"))


def test_user_task_with_form_key_and_assignee_from_camunda_examples() -> None:
    xml = b"""<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
      xmlns:camunda="http://camunda.org/schema/1.0/bpmn">
      <process id="p" isExecutable="true">
        <startEvent id="s"><outgoing>f1</outgoing></startEvent>
        <userTask id="u" name="Approve" camunda:formKey="embedded:app:forms/a.html" camunda:assignee="demo">
          <extensionElements><camunda:formData>
            <camunda:formField id="ok" label="OK?" type="boolean" />
          </camunda:formData></extensionElements>
        </userTask>
        <sequenceFlow id="f1" sourceRef="s" targetRef="u" />
      </process></definitions>"""
    parser = LivechatBpmnParser()
    parser.add_document(parse_bpmn_xml(xml))
    task = parser.get_spec("p").task_specs["u"]
    assert [f.id for f in form_of(task)] == ["ok"]
    assert assignment_of(task) == ("demo", ())
    assert task.extensions["livechat_form_key"] == "embedded:app:forms/a.html"


def _triage_start_fields(engine: ProcessEngine) -> tuple[FormField, ...]:
    parsed = engine.parse(bpmn_bytes("request_triage.bpmn"))
    return engine.start_form(parsed, "register_request")


def test_validate_form_returns_typed_values(engine: ProcessEngine) -> None:
    fields = _triage_start_fields(engine)
    submitted = {
        "request_type": "refund",
        "order_number": " AB-1234 ",
        "amount": "1500",
        "csrf": "x",
    }
    assert validate_form(fields, submitted, PARAMS) == {
        "request_type": "refund",
        "order_number": "AB-1234",
        "amount": 1500,
    }


def test_validate_form_reports_every_field_error_at_once(engine: ProcessEngine) -> None:
    fields = _triage_start_fields(engine)
    with pytest.raises(ValidationError) as caught:
        validate_form(
            fields, {"request_type": "gift", "order_number": "12", "amount": "1e3"}, PARAMS
        )
    assert caught.value.fields == {
        "request_type": "not one of: refund, exchange, question",
        "order_number": "does not match the required pattern",
        "amount": "not a whole number",
    }
    assert caught.value.message == (
        "3 form field(s) are invalid: request_type, order_number, amount"
    )


def test_required_min_and_max(engine: ProcessEngine) -> None:
    fields = _triage_start_fields(engine)
    with pytest.raises(ValidationError) as caught:
        validate_form(fields, {"request_type": "", "amount": "100001"}, PARAMS)
    assert caught.value.fields == {
        "request_type": "required",
        "order_number": "required",
        "amount": "greater than the maximum 100000",
    }


def test_missing_field_takes_its_default_and_empty_optional_is_none() -> None:
    fields = (
        FormField("amount", "Amount", "long", default="7"),
        FormField("note", "Note", "string"),
        FormField("urgent", "Urgent", "boolean"),
    )
    assert validate_form(fields, {"note": "  "}, {}) == {"amount": 7, "note": None, "urgent": False}


def test_parameter_field_takes_the_parameter_type_and_options() -> None:
    fields = (
        FormField("email", "Email", "string", required=True),
        FormField("phone", "Phone", "string"),
        FormField("segment", "Segment", "string"),
    )
    with pytest.raises(ValidationError) as caught:
        validate_form(fields, {"email": "not-an-email", "phone": "12", "segment": "gold"}, PARAMS)
    assert caught.value.fields == {
        "email": "not a valid email address",
        "phone": "not a valid phone number (7 to 15 digits, optionally after +)",
        "segment": "not one of: vip, standard",
    }
    values = validate_form(
        fields,
        {"email": "Ann@Example.ORG", "phone": "+49 (170) 123-4567", "segment": "vip"},
        PARAMS,
    )
    assert values == {"email": "Ann@example.org", "phone": "+491701234567", "segment": "vip"}


def test_dates_booleans_and_readonly() -> None:
    fields = (
        FormField("when", "When", "date", min=date(2024, 1, 1)),
        FormField("camunda_style", "When (Camunda)", "date"),
        FormField("agree", "Agree", "boolean", required=True),
        FormField("source", "Source", "string", readonly=True, default="chat"),
    )
    values = validate_form(
        fields,
        {"when": "2024-02-29", "camunda_style": "31/12/2025", "agree": "on", "source": "hacked"},
        {},
    )
    assert values == {
        "when": date(2024, 2, 29),
        "camunda_style": date(2025, 12, 31),
        "agree": True,
        "source": "chat",
    }
    with pytest.raises(ValidationError) as caught:
        validate_form(fields, {"when": "2023-12-31", "camunda_style": "2025-02-30"}, {})
    assert caught.value.fields == {
        "when": "less than the minimum 2024-01-01",
        "camunda_style": "not a valid calendar date",
        "agree": "required",
    }


def test_readonly_field_keeps_the_value_it_was_shown_with() -> None:
    fields = (FormField("email", "Email", "string", readonly=True),)
    shown = prefill(fields, {"email": "ann@example.org"})
    assert validate_form(fields, {"email": "evil@example.org"}, PARAMS, shown=shown) == {
        "email": "ann@example.org"
    }


def test_prefill_uses_session_params_then_defaults(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("contact_details.bpmn"))
    fields = engine.start_form(parsed, "collect_contact_details")
    assert prefill(fields, {"email": "ann@example.org", "phone": None, "segment": "vip"}) == {
        "email": "ann@example.org",
        "phone": None,
        "contact_time": "any",
        "callback_count": 0,
    }


def test_a_prefill_property_fills_a_field_from_the_session_unless_a_parameter_does() -> None:
    xml = (
        '<camunda:formField id="contact_email" type="string"><camunda:properties>'
        '<camunda:property name="prefill" value="client.email"/></camunda:properties>'
        '</camunda:formField><camunda:formField id="note" type="string" defaultValue="hi"/>'
    )
    fields = read_form(_form(xml)).fields
    assert fields[0].prefill == "client.email"
    assert FormField.from_dict(fields[0].to_dict()) == fields[0]
    system = {"client.email": "ann@example.org"}
    assert prefill(fields, {}, system) == {"contact_email": "ann@example.org", "note": "hi"}
    from_parameter = {"contact_email": "work@example.org"}
    assert prefill(fields, from_parameter, system)["contact_email"] == "work@example.org"
    assert prefill(fields, {}, {"client.email": None})["contact_email"] is None


def test_form_field_round_trips_through_json_extensions() -> None:
    spec = _parsed("request_triage.bpmn").get_spec("register_request")
    for task_spec in spec.task_specs.values():
        for form_field in form_of(task_spec):
            assert FormField.from_dict(form_field.to_dict()) == form_field


def _form(fields_xml: str) -> etree._Element:
    return etree.fromstring(
        '<startEvent xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="s"><extensionElements>'
        f"<camunda:formData>{fields_xml}</camunda:formData></extensionElements></startEvent>"
    )


@pytest.mark.parametrize(
    ("field_xml", "message"),
    [
        (
            '<camunda:formField id="a" type="money"/>',
            "unknown field type 'money'; use one of: string, long, boolean, date, enum",
        ),
        ('<camunda:formField id="a" type="enum"/>', "enum field without camunda:value options"),
        ('<camunda:formField type="string"/>', "form field without an id"),
        (
            '<camunda:formField id="first-name" type="string"/>',
            "field id must be a Python identifier (letters, digits, underscore)",
        ),
        (
            '<camunda:formField id="session" type="string"/>',
            "field id 'session' is reserved for the session object in scripts",
        ),
        (
            '<camunda:formField id="a" type="string" defaultValue="${x}"/>',
            "expression default values (${...}) are not supported",
        ),
        (
            '<camunda:formField id="a" type="long"><camunda:validation>'
            '<camunda:constraint name="min" config="9"/><camunda:constraint name="max" config="3"/>'
            "</camunda:validation></camunda:formField>",
            "min 9 is greater than max 3",
        ),
        (
            '<camunda:formField id="a" type="string"><camunda:validation>'
            '<camunda:constraint name="pattern" config="(ab"/></camunda:validation></camunda:formField>',
            "invalid pattern '(ab': missing ), unterminated subpattern at position 0",
        ),
        (
            '<camunda:formField id="a" type="string"><camunda:validation>'
            '<camunda:constraint name="validator" config="org.Foo"/></camunda:validation></camunda:formField>',
            "unknown constraint 'validator'; use one of: required, readonly, minlength, maxlength, min, max, pattern",
        ),
        (
            '<camunda:formField id="a" type="boolean"><camunda:validation>'
            '<camunda:constraint name="maxlength" config="3"/></camunda:validation></camunda:formField>',
            "maxlength applies to string fields, not boolean",
        ),
        (
            '<camunda:formField id="a" type="enum" defaultValue="c"><camunda:value id="b" name="B"/>'
            "</camunda:formField>",
            "defaultValue 'c' is invalid: not one of: b",
        ),
        (
            '<camunda:formField id="a" type="string"><camunda:properties>'
            '<camunda:property name="prefill" value="client.mail"/></camunda:properties>'
            "</camunda:formField>",
            "unknown prefill 'client.mail'; use one of: client.name, client.email, client.phone, "
            "subject, operator.name, live_chat.name, channel.name",
        ),
    ],
)
def test_bad_form_definitions_are_reported(field_xml: str, message: str) -> None:
    definition = read_form(_form(field_xml))
    assert definition.fields == ()
    assert [p.message for p in definition.problems] == [message]


def test_duplicate_field_ids_are_reported_and_the_first_kept() -> None:
    definition = read_form(
        _form('<camunda:formField id="a" type="string"/><camunda:formField id="a" type="long"/>')
    )
    assert [(f.id, f.type) for f in definition.fields] == [("a", "string")]
    assert [(p.field_id, p.message) for p in definition.problems] == [("a", "duplicate field id")]
