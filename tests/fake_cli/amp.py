"""A fake ``amp`` CLI: ``python amp.py --execute --stream-json ...`` (see ``_fake.py``)."""

from _fake import main

if __name__ == "__main__":
    main("amp")
