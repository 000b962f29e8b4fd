"""A gRPC C-core peer (Python grpcio) for xdsd's proxyless tests, driven by JSON lines on stdin.

    xds_peer.py client TARGET          calls /xdsd.test.Echo/WhoAreYou on TARGET (xds:///NAME through the
                                       bootstrap in GRPC_XDS_BOOTSTRAP, or a plain host:port)
    xds_peer.py server ADDRESS:PORT NAME
                                       an xDS-enabled server (gRFC A36): serves the echo, answering NAME, once
                                       xdsd has sent the listener grpc/server?xds.resource.listening_address=...

Client commands, one JSON object a line, each answered with one JSON line on stdout:
    {"op": "calls", "n": N, "seconds": S}  N calls one after the other (fewer if S seconds pass first):
                                           {"counts": {who: n}, "failures": ["CODE: details", ...], "calls": n}
    {"op": "start", "seconds": S}          calls in the background until "stop" (or S seconds, or 20000 calls)
    {"op": "stop"}                         {"counts": ..., "failures": ..., "calls": n, "tail": [last 20 answers]}
The server answers {"serving": ADDRESS:PORT} once started, and stops at end of input. Every call has a deadline
of 5 s, and the background loop is bounded in count and time: a test never waits on this process for ever.
Messages are raw bytes (no protobuf package needed): the request is empty, the answer the server's NAME.
"""

import json
import sys
import threading
import time
from concurrent import futures

import grpc

METHOD = "/xdsd.test.Echo/WhoAreYou"
CALL_DEADLINE_S = 5.0
MAX_BACKGROUND_CALLS = 20000
MAX_SECONDS = 60.0


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Tally:
    def __init__(self):
        self.counts = {}
        self.failures = []
        self.calls = 0
        self.tail = []

    def add(self, who=None, failure=None):
        self.calls += 1
        if failure is not None:
            self.failures.append(failure)
            who = "!" + failure
        else:
            self.counts[who] = self.counts.get(who, 0) + 1
        self.tail = (self.tail + [who])[-20:]

    def report(self):
        return {"counts": self.counts, "failures": self.failures[:20], "calls": self.calls, "tail": self.tail}


def call_once(stub, tally):
    try:
        tally.add(who=stub(b"", timeout=CALL_DEADLINE_S).decode())
    except grpc.RpcError as err:
        tally.add(failure="%s: %s" % (err.code().name, err.details()))


def run_client(target):
    channel = grpc.insecure_channel(target)
    stub = channel.unary_unary(METHOD)  # no serializers: bytes in, bytes out
    background = None
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "calls":
            tally = Tally()
            deadline = time.monotonic() + min(float(cmd.get("seconds", 10)), MAX_SECONDS)
            for _ in range(int(cmd["n"])):
                if time.monotonic() > deadline:
                    break
                call_once(stub, tally)
            reply(tally.report())
        elif op == "start":
            tally, stop = Tally(), threading.Event()
            deadline = time.monotonic() + min(float(cmd.get("seconds", 20)), MAX_SECONDS)

            def loop(tally=tally, stop=stop, deadline=deadline):
                while not stop.is_set() and tally.calls < MAX_BACKGROUND_CALLS and time.monotonic() < deadline:
                    call_once(stub, tally)
                    time.sleep(0.002)  # leave the two cores to xdsd and the backends

            background = (threading.Thread(target=loop), tally, stop)
            background[0].start()
            reply({"started": True})
        elif op == "stop":
            thread, tally, stop = background
            stop.set()
            thread.join()
            background = None
            reply(tally.report())
        else:
            reply({"error": "unknown op %r" % op})
    channel.close()


def run_server(listen, name):
    answer = name.encode()
    handler = grpc.method_handlers_generic_handler(
        "xdsd.test.Echo", {"WhoAreYou": grpc.unary_unary_rpc_method_handler(lambda request, context: answer)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), xds=True)
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(listen)
    server.start()
    reply({"serving": listen})
    for _ in sys.stdin:
        pass
    server.stop(grace=None)


def main(argv):
    if len(argv) == 3 and argv[1] == "client":
        run_client(argv[2])
    elif len(argv) == 4 and argv[1] == "server":
        run_server(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
