// grpc-js answers a request body that is not valid protobuf with INTERNAL ("Error deserializing
// request"). The bytes are the caller's, so the store answers INVALID_ARGUMENT instead: each
// method's deserializer returns a marker rather than throwing, and a server interceptor ends the
// call with INVALID_ARGUMENT when the marker arrives (before any handler sees it).
import { ServerInterceptingCall, status, type ServerInterceptor, type ServiceDefinition } from "@grpc/grpc-js";

const UNPARSABLE = Symbol("unparsable request");

/** A copy of `definition` whose request deserializers never throw. */
export function tolerantDeserializers(definition: ServiceDefinition): ServiceDefinition {
  const copy: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    copy[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch {
          return UNPARSABLE;
        }
      },
    };
  }
  return copy as ServiceDefinition;
}

export const rejectUnparsableRequests: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMessage(message, nextMessage) {
          if (message === UNPARSABLE) call.sendStatus({ code: status.INVALID_ARGUMENT, details: "request is not a valid protobuf message" });
          else nextMessage(message);
        },
      });
    },
  });
