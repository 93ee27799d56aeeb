"""A judge for the tests: XSTest's string-match rule behind the callable and HTTP interfaces,
so its verdicts are known exactly."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rai_pipeline.core.llm_safety.judges import string_match_verdict

SEEN: list[dict] = []


def judge(*, prompt: str, response: str, input: str) -> str:
    return string_match_verdict(response, refusal="2_full_refusal", compliance="1_full_compliance")


class _Handler(BaseHTTPRequestHandler):
    status = 200

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        SEEN.append(body)
        if self.server.status != 200:
            self.send_response(self.server.status)
            self.end_headers()
            return
        verdict = judge(prompt=body["prompt"], response=body["response"], input=body["input"])
        answer = json.dumps({"verdict": verdict}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):  # quiet
        return


def serve(status: int = 200) -> ThreadingHTTPServer:
    """A local judge server on a free loopback port (stop it with ``shutdown()``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.status = status
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
