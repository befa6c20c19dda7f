"""Serve the landing page with the service's address, a site's public key and an asset filled in.

    python3 examples/landing/serve.py --key inb_pk_... --asset cloud-cost-guide-2026

The pages hold placeholders that are replaced in every ``.html`` file served:

- ``{{API}}``: the service's base URL (``--api``, by default ``http://127.0.0.1:8000``);
- ``{{KEY}}``: the site's public key (``--key``);
- ``{{ASSET}}``: the gated asset's slug or id (``--asset``);
- ``{{CONSENT}}``: the site's tracking consent mode, which inbound.js mirrors (``--consent``:
  ``required``, the default, ``cookieless`` or ``granted``);
- ``{{ORIGIN}}``: this page's own origin, as the browser addressed it (``http://`` and the
  ``Host`` header), so that ``_redirect`` leads back here.

Other files (CSS, JavaScript, ``ebook.pdf``) are served as they are. Standard library only.
"""

import argparse
import html
import io
import os
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class LandingHandler(SimpleHTTPRequestHandler):
    """Serves this folder; ``.html`` files get the placeholders replaced."""

    def __init__(self, *args: Any, values: dict[str, str], **kwargs: Any) -> None:
        self.values = values
        super().__init__(*args, directory=str(HERE), **kwargs)

    def send_head(self) -> Any:
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?")[0].endswith("/"):
            path = os.path.join(path, "index.html")
        if not path.endswith(".html") or not os.path.isfile(path):
            return super().send_head()
        page = Path(path).read_text(encoding="utf-8")
        host = self.headers.get("Host") or self.values["LISTEN"]
        for name, value in {**self.values, "ORIGIN": f"http://{host}"}.items():
            page = page.replace("{{" + name + "}}", html.escape(value, quote=True))
        body = page.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return io.BytesIO(body)


CONSENT_MODES = ("required", "cookieless", "granted")


def make_server(
    host: str, port: int, api: str, key: str, asset: str, consent: str = "required"
) -> ThreadingHTTPServer:
    values = {
        "API": api.rstrip("/"),
        "KEY": key,
        "ASSET": asset,
        "CONSENT": consent,
        "LISTEN": f"{host}:{port}",
    }
    return ThreadingHTTPServer((host, port), partial(LandingHandler, values=values))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the service's base URL")
    parser.add_argument("--key", required=True, help="the site's public key (inb_pk_...)")
    parser.add_argument("--asset", required=True, help="the gated asset's slug or id")
    parser.add_argument(
        "--consent",
        choices=CONSENT_MODES,
        default="required",
        help="the site's tracking consent mode, as set on the site in the service",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, args.api, args.key, args.asset, args.consent)
    print(f"serving the landing page on http://{args.host}:{args.port}", file=sys.stderr)
    print(f"  plain form: http://{args.host}:{args.port}/", file=sys.stderr)
    print(f"  fetch form: http://{args.host}:{args.port}/fetch.html", file=sys.stderr)
    print(f"  blog post:  http://{args.host}:{args.port}/blog.html", file=sys.stderr)
    print(f"  case study: http://{args.host}:{args.port}/case-study.html", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
