"""The app as gunicorn serves it, plus `/bench-hello`: the floor the load test compares with.

`/bench-hello` goes through everything the real pages go through (session cookie,
Flask-Login loading the user, CSRF set-up, Babel, security headers) but renders nothing and
runs no query of its own: `gunicorn bench.loadapp:app`.
"""

from __future__ import annotations

from crm import create_app

app = create_app()
app.debug = False


@app.get("/bench-hello")
def bench_hello() -> str:
    return "hello"
