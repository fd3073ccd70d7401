"""A fake ``claude`` CLI: ``python claude.py -p --output-format stream-json ...``
(see ``_fake.py``)."""

from _fake import main

if __name__ == "__main__":
    main("claude_code")
