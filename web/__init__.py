"""web: the Flask UI and REST API; thin, calls bpm_livechat."""
