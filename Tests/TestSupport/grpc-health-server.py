"""A real gRPC health server (grpcio's own grpc.health.v1 servicer) for the gRPC probe tests.

    grpc-health-server.py PORT_FILE [CERT KEY]

Listens on 127.0.0.1 on a free port in clear text (h2c), and with CERT and KEY also on a second
port with TLS; writes "PLAIN_PORT TLS_PORT" (TLS_PORT 0 without TLS) to PORT_FILE once both
listen. Reads commands from stdin, one per line: "SERVICE STATUS" sets a service's serving
status ("" is written as "-"), e.g. "payments NOT_SERVING", and appends a line to
PORT_FILE.acks once it holds. Exits when stdin closes.
"""
import sys

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from concurrent import futures


def main():
    port_file = sys.argv[1]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    plain = server.add_insecure_port("127.0.0.1:0")
    secure = 0
    if len(sys.argv) == 4:
        with open(sys.argv[2], "rb") as cert, open(sys.argv[3], "rb") as key:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        secure = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    with open(port_file + ".staged", "w") as out:
        out.write(f"{plain} {secure}\n")
    import os
    os.rename(port_file + ".staged", port_file)
    for line in sys.stdin:
        words = line.split()
        if len(words) != 2:
            continue
        service = "" if words[0] == "-" else words[0]
        servicer.set(service, health_pb2.HealthCheckResponse.ServingStatus.Value(words[1]))
        with open(port_file + ".acks", "a") as acks:
            acks.write(line)
    server.stop(0)


if __name__ == "__main__":
    main()
