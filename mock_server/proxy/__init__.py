"""``stepspec proxy``: a reverse proxy that judges real traffic against the contract.

It sits in front of a real (or any) Kibana, Arcee or Trigify server, forwards every request
unchanged, answers CORS like the mock, records HAR, and holds each answer to the kit's checks
that need no request of their own (``conformance._passive.PassiveJudge``). ``create_proxy``
builds the WSGI app; ``serve`` runs it under gunicorn (one process, threads: see ``_serve``).
"""

from mock_server.proxy._app import ProxyApp, create_proxy
from mock_server.proxy._config import ProxyConfig
from mock_server.proxy._serve import serve

__all__ = ["ProxyApp", "ProxyConfig", "create_proxy", "serve"]
