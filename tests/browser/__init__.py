"""Browser tests: real headless Chromium against the app served from a thread on 127.0.0.1."""
