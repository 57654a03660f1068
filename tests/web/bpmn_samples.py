"""A small BPMN file for the processes admin tests: a start form, one script task, a diagram."""

from __future__ import annotations

from xml.sax.saxutils import escape

SCRIPT_LINE = 22  # the line of <bpmn:script> in the file below: script line 1 is on it


def sample_bpmn(script: str, process_id: str = "triage_note", name: str = "Triage note") -> bytes:
    """The BPMN of a one-script process; `script` and `name` are escaped into the XML."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="{process_id}_definitions" targetNamespace="http://bpm-livechat.example/tests">
  <bpmn:process id="{process_id}" name="{escape(name, {'"': "&quot;"})}" isExecutable="true">
    <bpmn:startEvent id="ask" name="Reason">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="reason" label="Reason &lt;b&gt;" type="string">
            <camunda:validation><camunda:constraint name="maxlength" config="40" /></camunda:validation>
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="note" name="Write the note" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="done" name="Done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="ask" targetRef="note" />
    <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="done" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="{process_id}_diagram">
    <bpmndi:BPMNPlane id="{process_id}_plane" bpmnElement="{process_id}">
      <bpmndi:BPMNShape id="ask_di" bpmnElement="ask"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="note_di" bpmnElement="note"><dc:Bounds x="250" y="80" width="120" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="done_di" bpmnElement="done"><dc:Bounds x="432" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="188" y="120" /><di:waypoint x="250" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="370" y="120" /><di:waypoint x="432" y="120" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
""".encode()
