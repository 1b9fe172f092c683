"""An independent P4Runtime client against Talaria's server: the official
p4runtime Python package (PyPI) and grpcio, nothing Talaria wrote. It
arbitrates, sets the pipeline with the repository's P4Info, writes entries
(including one that must fail), reads them back and checks every answer.
Prints a JSON summary; exits non-zero on the first mismatch.

Usage: p4runtime_client_check.py --addr 127.0.0.1:9559 --device-id 1 --p4info p4/talaria.p4info.txtpb
"""
import argparse
import json
import os
import queue
import sys

# protobuf >= 4 refuses the package's generated code in its default
# implementation; the pure-Python one reads it (slower, fine here).
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import grpc  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from google.rpc import code_pb2, status_pb2  # noqa: E402
from p4.config.v1 import p4info_pb2  # noqa: E402
from p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc  # noqa: E402


def fail(message):
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def canonical(value, bitwidth):
    """Shortest big-endian bytes (P4Runtime canonical bytestring)."""
    check(value < (1 << bitwidth), f"{value} exceeds {bitwidth} bits")
    length = max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def ipv4(text):
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


class Names:
    """Name -> id lookups over the P4Info, as a controller would do them."""

    def __init__(self, info):
        self.info = info

    def table(self, alias):
        return next(t for t in self.info.tables if t.preamble.alias == alias)

    def action(self, alias):
        return next(a for a in self.info.actions if a.preamble.alias == alias)

    def profile(self, alias):
        return next(p for p in self.info.action_profiles if p.preamble.alias == alias)

    def exact(self, table, name, value):
        field = next(f for f in table.match_fields if f.name == name)
        m = p4runtime_pb2.FieldMatch(field_id=field.id)
        m.exact.value = canonical(value, field.bitwidth)
        return m

    def lpm(self, table, name, value, prefix_len):
        field = next(f for f in table.match_fields if f.name == name)
        m = p4runtime_pb2.FieldMatch(field_id=field.id)
        m.lpm.value = canonical(value, field.bitwidth)
        m.lpm.prefix_len = prefix_len
        return m

    def act(self, alias, **params):
        action = self.action(alias)
        out = p4runtime_pb2.Action(action_id=action.preamble.id)
        for p in action.params:
            out.params.add(param_id=p.id, value=canonical(params[p.name], p.bitwidth))
        return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", required=True)
    parser.add_argument("--device-id", type=int, required=True)
    parser.add_argument("--p4info", required=True)
    args = parser.parse_args()

    info = p4info_pb2.P4Info()
    with open(args.p4info) as f:
        text_format.Parse(f.read(), info)
    names = Names(info)
    election = p4runtime_pb2.Uint128(high=0, low=1)

    channel = grpc.insecure_channel(args.addr)
    grpc.channel_ready_future(channel).result(timeout=10)
    stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
    summary = {}

    caps = stub.Capabilities(p4runtime_pb2.CapabilitiesRequest(), timeout=10)
    summary["api_version"] = caps.p4runtime_api_version

    # Arbitration on the stream.
    requests = queue.Queue()
    req = p4runtime_pb2.StreamMessageRequest()
    req.arbitration.device_id = args.device_id
    req.arbitration.election_id.CopyFrom(election)
    requests.put(req)
    stream = stub.StreamChannel(iter(requests.get, None))
    first = next(stream)
    check(first.WhichOneof("update") == "arbitration", "first stream answer is an arbitration update")
    check(first.arbitration.status.code == code_pb2.OK, f"primary (status {first.arbitration.status.code})")
    summary["primary"] = True

    # Pipeline.
    spr = p4runtime_pb2.SetForwardingPipelineConfigRequest(
        device_id=args.device_id, election_id=election,
        action=p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT)
    spr.config.p4info.CopyFrom(info)
    spr.config.cookie.cookie = 7
    stub.SetForwardingPipelineConfig(spr, timeout=10)
    got = stub.GetForwardingPipelineConfig(
        p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=args.device_id), timeout=10)
    check(got.config.cookie.cookie == 7, "cookie read back")
    check(sorted(t.preamble.name for t in got.config.p4info.tables) == sorted(t.preamble.name for t in info.tables),
          "P4Info read back")
    summary["pipeline"] = True

    # Writes: a frontend, a selector member and group, the frontend's group, a route.
    frontends = names.table("frontends")
    backend_select = names.table("backend_select")
    routes = names.table("routes")
    selector = names.profile("backend_selector")

    def update(kind, fill):
        u = p4runtime_pb2.Update(type=kind)
        fill(u.entity)
        return u

    def frontend_entry(e):
        e.table_entry.table_id = frontends.preamble.id
        e.table_entry.match.extend([
            names.exact(frontends, "dst_addr", ipv4("10.96.0.10")),
            names.exact(frontends, "dst_port", 80),
            names.exact(frontends, "protocol", 6)])
        e.table_entry.action.action.CopyFrom(names.act("set_frontend", frontend_id=1, flags=0))

    def member_entry(e):
        e.action_profile_member.action_profile_id = selector.preamble.id
        e.action_profile_member.member_id = 11
        e.action_profile_member.action.CopyFrom(
            names.act("to_backend", backend_id=11, addr=ipv4("10.244.1.5"), port=8080))

    def group_entry(e):
        e.action_profile_group.action_profile_id = selector.preamble.id
        e.action_profile_group.group_id = 1
        e.action_profile_group.members.add(member_id=11, weight=1)

    def select_entry(e):
        e.table_entry.table_id = backend_select.preamble.id
        e.table_entry.match.append(names.exact(backend_select, "frontend_id", 1))
        e.table_entry.action.action_profile_group_id = 1

    def route_entry(e):
        e.table_entry.table_id = routes.preamble.id
        e.table_entry.match.append(names.lpm(routes, "dst_addr", ipv4("10.244.1.0"), 24))
        e.table_entry.action.action.CopyFrom(names.act("to_port", port=1, dst_mac=0x020000000001))

    write = p4runtime_pb2.WriteRequest(device_id=args.device_id, election_id=election)
    write.updates.extend([update(p4runtime_pb2.Update.INSERT, f)
                          for f in (frontend_entry, member_entry, group_entry, select_entry, route_entry)])
    stub.Write(write, timeout=10)
    summary["written"] = len(write.updates)

    # Read everything back (wildcard over all tables) and the selector's objects.
    read = p4runtime_pb2.ReadRequest(device_id=args.device_id)
    read.entities.add().table_entry.table_id = 0
    read.entities.add().action_profile_member.action_profile_id = selector.preamble.id
    read.entities.add().action_profile_group.action_profile_id = selector.preamble.id
    entities = [e for response in stub.Read(read, timeout=10) for e in response.entities]
    tables = sorted(e.table_entry.table_id for e in entities if e.WhichOneof("entity") == "table_entry")
    check(tables == sorted([frontends.preamble.id, backend_select.preamble.id, routes.preamble.id]),
          f"three table entries read back, got {tables}")
    front = next(e.table_entry for e in entities if e.table_entry.table_id == frontends.preamble.id)
    check([m.exact.value for m in front.match] == [bytes([10, 96, 0, 10]), b"\x50", b"\x06"],
          "frontends key read back canonical")
    members = [e.action_profile_member for e in entities if e.WhichOneof("entity") == "action_profile_member"]
    check(len(members) == 1 and members[0].action.params[2].value == canonical(8080, 16), "member read back")
    groups = [e.action_profile_group for e in entities if e.WhichOneof("entity") == "action_profile_group"]
    check(len(groups) == 1 and groups[0].members[0].member_id == 11, "group read back")
    summary["read"] = len(entities)

    # Counters of the frontends table.
    counters = p4runtime_pb2.ReadRequest(device_id=args.device_id)
    counters.entities.add().direct_counter_entry.table_entry.table_id = frontends.preamble.id
    counted = [e for response in stub.Read(counters, timeout=10) for e in response.entities]
    check(len(counted) == 1 and counted[0].direct_counter_entry.HasField("data"), "direct counter read back")

    # A duplicate and a good insert in one batch: UNKNOWN with one p4.v1.Error per update.
    def second_frontend(e):
        frontend_entry(e)
        e.table_entry.match[0].exact.value = bytes([10, 96, 0, 11])

    batch = p4runtime_pb2.WriteRequest(device_id=args.device_id, election_id=election)
    batch.updates.extend([update(p4runtime_pb2.Update.INSERT, frontend_entry),
                          update(p4runtime_pb2.Update.INSERT, second_frontend)])
    try:
        stub.Write(batch, timeout=10)
        fail("a duplicate insert was accepted")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.UNKNOWN, f"batch error is UNKNOWN, got {err.code()}")
        trailer = dict(err.trailing_metadata()).get("grpc-status-details-bin")
        check(trailer is not None, "grpc-status-details-bin trailer present")
        status = status_pb2.Status.FromString(trailer)
        errors = []
        for detail in status.details:
            e = p4runtime_pb2.Error()
            check(detail.Unpack(e), "details are p4.v1.Error")
            errors.append(e.canonical_code)
        check(errors == [code_pb2.ALREADY_EXISTS, code_pb2.OK], f"per-update codes, got {errors}")
        summary["per_update_errors"] = errors

    # A backup with a lower election id may not write.
    backup_requests = queue.Queue()
    backup = p4runtime_pb2.StreamMessageRequest()
    backup.arbitration.device_id = args.device_id
    backup.arbitration.election_id.low = 0
    backup.arbitration.election_id.high = 0
    # election id 0 is below the primary's 1: a backup
    backup_requests.put(backup)
    backup_stream = stub.StreamChannel(iter(backup_requests.get, None))
    answer = next(backup_stream)
    check(answer.arbitration.status.code == code_pb2.ALREADY_EXISTS, "second controller is a backup")
    refused = p4runtime_pb2.WriteRequest(device_id=args.device_id)
    refused.election_id.low = 0
    refused.updates.append(update(p4runtime_pb2.Update.DELETE, route_entry))
    try:
        stub.Write(refused, timeout=10)
        fail("a backup's write was accepted")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.PERMISSION_DENIED, f"backup write is PERMISSION_DENIED, got {err.code()}")
    summary["backup"] = True

    backup_requests.put(None)
    requests.put(None)
    channel.close()
    summary["ok"] = True
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
