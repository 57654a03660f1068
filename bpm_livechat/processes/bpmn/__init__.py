"""BPMN files as uploaded: safe XML, the extended SpiffWorkflow parser, forms, checks, reports.

Offers `xml` (safe parsing, lines), `parser` (SpiffWorkflow's parser reading Camunda forms and
assignments), `forms` (camunda:formData), `checks` and `validation` (every deployment problem by
element id and line), `report` (what validation reports) and `diagram` (the diagram as data).
It never runs a process: nothing here imports the engine or instances.
"""
