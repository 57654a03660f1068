"""The operator's pages: the sessions list, the session page, processes, tasks and linked items."""
