"""Demo data: live chats, users, parameters, bundled processes, apps and realistic sessions."""
