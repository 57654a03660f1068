"""bpm_livechat: live chat sessions, custom parameters and the business processes that fill them."""
