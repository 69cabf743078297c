#!/usr/bin/env python3
"""A Python gRPC client of eventmall: creates a product on the command service, waits until the
query service serves it, checks every field, checks that an oversized decrease fails with
FAILED_PRECONDITION, and exits non-zero on any mismatch.

Stubs come from proto/ (into a temp dir) by one of two routes:
  protoc          generated *_pb2.py / *_pb2_grpc.py. Needs a protoc that knows proto3 `optional`
                  (>= 3.15) and a gRPC Python plugin: Debian's protobuf-compiler +
                  protobuf-compiler-grpc. Debian's python3-grpc-tools (protoc 3.5, grpc 1.14) cannot
                  compile our protos: it rejects `optional`, and its output predates protobuf 4.
  descriptor-set  message classes built at run time by the protobuf module from a
                  FileDescriptorSet (`buf build proto -o FILE`), calls through grpcio's generic
                  unary methods. Needs nothing but python3-grpcio and python3-protobuf.

usage: python_client.py --command HOST:PORT --query HOST:PORT
                        [--stubs auto|protoc|descriptor-set] [--descriptor-set FILE] [--proto-dir DIR]
"""
import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PROTOS = [
    "eventmall/common/v1/command.proto",
    "eventmall/product/v1/commands.proto",
    "eventmall/product/v1/queries.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
]
COMMAND_SERVICE = "eventmall.product.v1.ProductCommandService"
QUERY_SERVICE = "eventmall.product.v1.ProductQueryService"


class Mismatch(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Mismatch(message)


class Api:
    """What the scenario needs, whichever way the stubs were made."""

    def __init__(self, message_class, command_stub, query_stub):
        self.message = message_class  # full name -> message class
        self.command = command_stub
        self.query = query_stub


def protoc_api(proto_dir, out_dir, channels):
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if not protoc or not plugin:
        raise RuntimeError("protoc route needs `protoc` and `grpc_python_plugin` on PATH "
                           "(Debian: protobuf-compiler protobuf-compiler-grpc)")
    subprocess.run([protoc, f"-I{proto_dir}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
                    f"--plugin=protoc-gen-grpc_python={plugin}", *PROTOS], check=True)
    sys.path.insert(0, out_dir)
    modules = {p: importlib.import_module(p[:-len(".proto")].replace("/", ".") + "_pb2") for p in PROTOS}
    classes = {}
    for module in modules.values():
        for name in module.DESCRIPTOR.message_types_by_name:
            classes[f"{module.DESCRIPTOR.package}.{name}"] = getattr(module, name)
    commands_grpc = importlib.import_module("eventmall.product.v1.commands_pb2_grpc")
    queries_grpc = importlib.import_module("eventmall.product.v1.queries_pb2_grpc")
    return Api(classes.__getitem__,
               commands_grpc.ProductCommandServiceStub(channels[0]),
               queries_grpc.ProductQueryServiceStub(channels[1]))


class GenericStub:
    """A stub whose methods are made from a service descriptor: stub.CreateProduct(request)."""

    def __init__(self, channel, service, classes):
        for method in service.methods:
            setattr(self, method.name, channel.unary_unary(
                f"/{service.full_name}/{method.name}",
                request_serializer=classes[method.input_type.full_name].SerializeToString,
                response_deserializer=classes[method.output_type.full_name].FromString))


def descriptor_set_api(descriptor_set_file, channels):
    file_set = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set_file, "rb") as f:
        file_set.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()  # a private pool: no clash with the default one's WKTs
    for file_proto in file_set.file:
        pool.Add(file_proto)
    # GetMessageClass is protobuf >= 4.22; Debian's 4.21 has only MessageFactory.GetPrototype.
    factory = message_factory.MessageFactory(pool)
    make_class = getattr(message_factory, "GetMessageClass", None) or factory.GetPrototype
    classes = {}
    for file_proto in file_set.file:
        for message in pool.FindFileByName(file_proto.name).message_types_by_name.values():
            classes[message.full_name] = make_class(message)
    return Api(classes.__getitem__,
               GenericStub(channels[0], pool.FindServiceByName(COMMAND_SERVICE), classes),
               GenericStub(channels[1], pool.FindServiceByName(QUERY_SERVICE), classes))


def error_reason(api, error):
    """ErrorInfo.reason from the google.rpc.Status in the grpc-status-details-bin trailer."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = api.message("google.rpc.Status").FromString(value)
            for detail in status.details:
                if detail.type_url.endswith("/google.rpc.ErrorInfo"):
                    return api.message("google.rpc.ErrorInfo").FromString(detail.value).reason
    return None


def wait_for_product(api, product_id, until=lambda p: True, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            reply = api.query.GetProduct(api.message("eventmall.product.v1.GetProductRequest")(product_id=product_id),
                                         timeout=5)
            if reply.HasField("product") and until(reply.product):
                return reply.product
            last = reply
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
            last = error.code()
        time.sleep(0.1)
    raise Mismatch(f"product {product_id} not served as expected within {timeout_s}s (last: {last})")


def scenario(api):
    name = f"Python mug {uuid.uuid4().hex[:8]}"
    created = api.command.CreateProduct(api.message("eventmall.product.v1.CreateProductRequest")(
        name=name, price=1500, inventory=7, image_path="/img/py.png", description="made by python"), timeout=10)
    expect(len(created.product_id) == 36, f"product id {created.product_id!r} is not a UUID")

    product = wait_for_product(api, created.product_id)
    for field, wanted in [("product_id", created.product_id), ("name", name), ("price", 1500), ("inventory", 7),
                          ("image_path", "/img/py.png"), ("description", "made by python"), ("revision", 0)]:
        expect(getattr(product, field) == wanted, f"{field}: got {getattr(product, field)!r}, want {wanted!r}")
    expect(product.created_at.seconds > 0, "created_at is not set")

    decrease = api.message("eventmall.product.v1.DecreaseInventoryRequest")
    try:
        api.command.DecreaseInventory(decrease(product_id=created.product_id, quantity=8), timeout=10)
        raise Mismatch("decreasing 8 of 7 succeeded")
    except grpc.RpcError as error:
        expect(error.code() == grpc.StatusCode.FAILED_PRECONDITION,
               f"decreasing 8 of 7 gave {error.code()}, want FAILED_PRECONDITION")
        expect(bool(error_reason(api, error)), "FAILED_PRECONDITION carries no google.rpc.ErrorInfo reason")

    left = api.command.DecreaseInventory(decrease(product_id=created.product_id, quantity=2), timeout=10)
    expect(left.inventory == 5, f"inventory after decreasing 2 of 7: {left.inventory}")
    wait_for_product(api, created.product_id, until=lambda p: p.inventory == 5 and p.revision == 1)

    listed = api.query.ListProducts(api.message("eventmall.product.v1.ListProductsRequest")(name_contains=name),
                                    timeout=10)
    expect([p.product_id for p in listed.products] == [created.product_id],
           f"ListProducts(name_contains={name!r}) gave {[p.product_id for p in listed.products]}")
    return created.product_id


class BearerToken(grpc.UnaryUnaryClientInterceptor):
    """Sends "authorization: Bearer <token>" with every call (product commands need an admin token)."""

    def __init__(self, token):
        self.token = token

    def intercept_unary_unary(self, continuation, details, request):
        metadata = list(details.metadata or []) + [("authorization", f"Bearer {self.token}")]
        return continuation(details._replace(metadata=metadata), request)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--command", required=True, help="HOST:PORT of the command service")
    parser.add_argument("--query", required=True, help="HOST:PORT of the query service")
    parser.add_argument("--stubs", choices=["auto", "protoc", "descriptor-set"], default="auto")
    parser.add_argument("--descriptor-set", help="FileDescriptorSet of proto/ (buf build proto -o FILE)")
    parser.add_argument("--proto-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "proto"))
    parser.add_argument("--token", default=os.environ.get("EVENTMALL_TOKEN", ""),
                        help="admin access token for the command service (npm run token -- --admin); env EVENTMALL_TOKEN")
    args = parser.parse_args()

    stubs = args.stubs
    if stubs == "auto":
        stubs = "protoc" if shutil.which("protoc") and shutil.which("grpc_python_plugin") else "descriptor-set"
    if stubs == "descriptor-set" and not args.descriptor_set:
        parser.error("--stubs descriptor-set needs --descriptor-set FILE")

    command_channel = grpc.insecure_channel(args.command)
    if args.token:
        command_channel = grpc.intercept_channel(command_channel, BearerToken(args.token))
    channels = [command_channel, grpc.insecure_channel(args.query)]
    try:
        with tempfile.TemporaryDirectory(prefix="eventmall-py-") as out_dir:
            if stubs == "protoc":
                api = protoc_api(os.path.abspath(args.proto_dir), out_dir, channels)
            else:
                api = descriptor_set_api(args.descriptor_set, channels)
            product_id = scenario(api)
        print(f"OK ({stubs} stubs): product {product_id} created, projected, decreased and listed")
        return 0
    except Mismatch as mismatch:
        print(f"MISMATCH ({stubs} stubs): {mismatch}", file=sys.stderr)
        return 1
    except grpc.RpcError as error:
        print(f"RPC FAILED ({stubs} stubs): {error.code()} {error.details()}", file=sys.stderr)
        return 1
    finally:
        for channel in channels:
            channel.close()


if __name__ == "__main__":
    sys.exit(main())
