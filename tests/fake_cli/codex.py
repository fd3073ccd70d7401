"""A fake ``codex`` CLI: ``python codex.py exec --json ... -`` (see ``_fake.py``)."""

from _fake import main

if __name__ == "__main__":
    main("codex")
