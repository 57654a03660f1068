"""The process engine: SpiffWorkflow with its parts injected, and the sandbox plugged in.

Offers `engine` (`ProcessEngine`: parse, start, run, complete, save, restore), `runner` (one
engine call with runaway bounds), `serializer` (the one serializer configuration and its
version) and `script_environment` (SpiffWorkflow's script environment backed by a script
runner from `script_runtime`). It knows no database: callers store what it returns.
"""
