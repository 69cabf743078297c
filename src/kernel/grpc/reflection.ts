// gRPC server reflection (v1 and v1alpha, same wire format) over the descriptors the generated
// code embeds, so grpcurl / buf curl / Postman can call the services without .proto files.
import {
  create,
  fromBinary,
  toBinary,
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescService,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb";

type Request = v1.ServerReflectionRequest;
type ResponseInit = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;

export const reflectionServices: DescService[] = [v1.ServerReflection, v1alpha.ServerReflection];

/** Everything reflection answers from: the files of the served services and all their imports. */
export class DescriptorIndex {
  readonly serviceNames: string[];
  private readonly filesByName = new Map<string, DescFile>();
  private readonly filesBySymbol = new Map<string, DescFile>();
  private readonly extensions: DescExtension[] = [];

  constructor(services: DescService[]) {
    this.serviceNames = services.map((s) => s.typeName);
    for (const service of services) this.addFile(service.file);
  }

  private addFile(file: DescFile): void {
    if (this.filesByName.has(file.proto.name)) return;
    this.filesByName.set(file.proto.name, file);
    const symbol = (name: string) => this.filesBySymbol.set(name, file);
    const addEnum = (e: DescEnum) => {
      symbol(e.typeName);
      // Enum values live in the enclosing scope of their enum (protobuf scoping rules).
      const scope = e.typeName.slice(0, Math.max(0, e.typeName.lastIndexOf(".")));
      for (const value of e.values) symbol(scope ? `${scope}.${value.name}` : value.name);
    };
    const addExtension = (x: DescExtension) => {
      symbol(x.typeName);
      this.extensions.push(x);
    };
    const addMessage = (m: DescMessage) => {
      symbol(m.typeName);
      for (const field of m.fields) symbol(`${m.typeName}.${field.name}`);
      for (const oneof of m.oneofs) symbol(`${m.typeName}.${oneof.name}`);
      m.nestedMessages.forEach(addMessage);
      m.nestedEnums.forEach(addEnum);
      m.nestedExtensions.forEach(addExtension);
    };
    file.messages.forEach(addMessage);
    file.enums.forEach(addEnum);
    file.extensions.forEach(addExtension);
    for (const service of file.services) {
      symbol(service.typeName);
      for (const method of service.methods) symbol(`${service.typeName}.${method.name}`);
    }
    file.dependencies.forEach((dependency) => this.addFile(dependency));
  }

  fileByName(name: string): DescFile | undefined {
    return this.filesByName.get(name);
  }

  fileBySymbol(symbol: string): DescFile | undefined {
    return this.filesBySymbol.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
  }

  fileByExtension(containingType: string, number: number): DescFile | undefined {
    return this.extensions.find((x) => x.extendee.typeName === containingType && x.number === number)?.file;
  }

  extensionNumbers(containingType: string): number[] | undefined {
    const target = this.filesBySymbol.get(containingType);
    if (!target) return undefined;
    return this.extensions.filter((x) => x.extendee.typeName === containingType).map((x) => x.number);
  }
}

/** One reflection stream: every file goes out once per stream, followed by the imports not yet sent. */
class ReflectionSession {
  private readonly sent = new Set<string>();
  constructor(private readonly index: DescriptorIndex) {}

  private filesWithImports(file: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const visit = (f: DescFile, requested: boolean) => {
      if (this.sent.has(f.proto.name) && !requested) return;
      this.sent.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dependency of f.dependencies) visit(dependency, false);
    };
    visit(file, true);
    return out;
  }

  answer(request: Request): ResponseInit {
    const base = { validHost: request.host, originalRequest: request };
    const notFound = (what: string): ResponseInit => ({
      ...base,
      messageResponse: { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } },
    });
    const files = (file: DescFile | undefined, what: string): ResponseInit =>
      file
        ? {
            ...base,
            messageResponse: {
              case: "fileDescriptorResponse",
              value: { fileDescriptorProto: this.filesWithImports(file) },
            },
          }
        : notFound(what);
    const message = request.messageRequest;
    switch (message.case) {
      case "listServices":
        return {
          ...base,
          messageResponse: {
            case: "listServicesResponse",
            value: { service: this.index.serviceNames.map((name) => ({ name })) },
          },
        };
      case "fileByFilename":
        return files(this.index.fileByName(message.value), `file "${message.value}"`);
      case "fileContainingSymbol":
        return files(this.index.fileBySymbol(message.value), `symbol "${message.value}"`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = message.value;
        return files(
          this.index.fileByExtension(containingType, extensionNumber),
          `extension ${extensionNumber} of "${containingType}"`,
        );
      }
      case "allExtensionNumbersOfType": {
        const numbers = this.index.extensionNumbers(message.value);
        if (!numbers) return notFound(`type "${message.value}"`);
        return {
          ...base,
          messageResponse: {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: message.value, extensionNumber: numbers },
          },
        };
      }
      default:
        return {
          ...base,
          messageResponse: {
            case: "errorResponse",
            value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
          },
        };
    }
  }
}

export function reflectionV1(index: DescriptorIndex): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const session = new ReflectionSession(index);
      for await (const request of requests) yield session.answer(request);
    },
  };
}

// v1alpha is wire-identical to v1: translate through the binary encoding and reuse the v1 logic.
export function reflectionV1alpha(index: DescriptorIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const session = new ReflectionSession(index);
      for await (const request of requests) {
        const asV1 = fromBinary(
          v1.ServerReflectionRequestSchema,
          toBinary(v1alpha.ServerReflectionRequestSchema, request),
        );
        const answer = create(v1.ServerReflectionResponseSchema, session.answer(asV1));
        yield fromBinary(
          v1alpha.ServerReflectionResponseSchema,
          toBinary(v1.ServerReflectionResponseSchema, answer),
        );
      }
    },
  };
}
