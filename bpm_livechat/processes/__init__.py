"""Business processes run from sessions.

Offers `bpmn` (reading, checking and validating uploaded BPMN), `engine` (SpiffWorkflow with the
sandbox plugged in: run, save, restore), `forms` (start and task forms: typed fields, validation,
prefill), `deployments` and `catalog` (versions, activation, live chat bindings), `instances`
(start a process, complete a task), `steps` (one step in the caller's transaction), `failures`
(the one policy for a failed step: roll back, record, return), `tasks` (user task rows),
`supervision` (retry, cancel), `progress` and `views` (what an instance shows), `step_log`
(who or which job moved an instance, when, what ran), `monitoring` (a process's instances,
filtered and paged; what an instance changed), `autostart`
(processes started by session events) and `script_bench` (check and dry-run a script).
"""
