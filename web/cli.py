"""`bpm-livechat serve`: the web app on a local address, for one machine (see README: Production)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--worker/--no-worker", default=True, show_default=True,
    help="Also run timers, deliveries, automatic starts and webhooks in this process.",
)  # fmt: skip
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, worker: bool) -> None:
    """Serve the web UI (threaded development server; use gunicorn and `bpm-livechat worker`
    in production)."""
    from werkzeug.serving import run_simple

    from web import create_app
    from web.engine import start_background_worker
    from web.serving import QuietRequestHandler

    url = getattr(ctx.obj, "url", None)
    app = create_app({"DATABASE_URL": url} if url else None)
    stop_worker = start_background_worker(app) if worker else None
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    try:
        run_simple(
            host,
            port,
            app,
            threaded=True,
            use_reloader=False,
            request_handler=QuietRequestHandler,
        )
    finally:
        if stop_worker is not None:
            stop_worker()
