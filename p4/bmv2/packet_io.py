"""Raw frame I/O on the ports of a BMv2 switch, for the packet-case tests.

Run inside the switch's namespace with the interfaces to use:
    python3 packet_io.py p1 p2 p3
Then one JSON command per stdin line, one JSON answer per stdout line:
    {"send": "p1", "frame": "<hex>", "ms": 300}
    -> {"received": [{"iface": "p2", "frame": "<hex>"}, ...]}
Frames seen in the `ms` after the send (outgoing copies excluded) are
returned; frames that arrived before the command are discarded. Python's
standard library only: Node.js has no AF_PACKET sockets.
"""
import json
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> None:
    socks = {}
    for iface in sys.argv[1:]:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((iface, 0))
        s.setblocking(False)
        socks[iface] = s
    print(json.dumps({"ready": list(socks)}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        for s in socks.values():
            drain(s)
        socks[cmd["send"]].send(bytes.fromhex(cmd["frame"]))
        received = []
        deadline = time.monotonic() + cmd.get("ms", 300) / 1000
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(list(socks.values()), [], [], left)
            for s in ready:
                for frame, addr in drain(s):
                    if addr[2] != PACKET_OUTGOING:
                        received.append({"iface": addr[0], "frame": frame.hex()})
        print(json.dumps({"received": received}), flush=True)


def drain(s: socket.socket) -> list:
    frames = []
    while True:
        try:
            frames.append(s.recvfrom(65535))
        except BlockingIOError:
            return frames


if __name__ == "__main__":
    main()
