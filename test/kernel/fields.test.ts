// The request-field helpers every context shares: ids, page sizes, scoped page tokens.
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb";
import { isUuid, readPageSize, uuidViolation } from "../../src/kernel/grpc/fields";
import { pageTokens } from "../../src/kernel/grpc/page-tokens";

function refusal(work: () => unknown): { code: Code; field?: string; description?: string } {
  try {
    work();
  } catch (error) {
    const status = ConnectError.from(error);
    const [violation] = status.findDetails(BadRequestSchema)[0]?.fieldViolations ?? [];
    return { code: status.code, field: violation?.field, description: violation?.description };
  }
  throw new Error("expected a refusal");
}

describe("ids", () => {
  it("accepts a dashed UUID in either case and names the field of anything else", () => {
    expect(isUuid("7C0B8F5E-2A43-4E8E-9D0B-6A3F1F0C2B11")).toBe(true);
    expect(uuidViolation("product_id", "7c0b8f5e-2a43-4e8e-9d0b-6a3f1f0c2b11")).toBeUndefined();
    for (const bad of ["", "nope", "7c0b8f5e2a434e8e9d0b6a3f1f0c2b11", "7c0b8f5e-2a43-4e8e-9d0b-6a3f1f0c2b11 "]) {
      expect(uuidViolation("product_id", bad)).toEqual({ field: "product_id", description: "must be a UUID" });
    }
    expect(uuidViolation("order_id", "x", "must be an order id (UUID)")?.description).toBe("must be an order id (UUID)");
  });
});

describe("page size", () => {
  it("reads 0 as the default and refuses what is out of range, with the limits in the message", () => {
    expect(readPageSize(0)).toEqual({ pageSize: 20 });
    expect(readPageSize(100)).toEqual({ pageSize: 100 });
    expect(readPageSize(101).violation).toEqual({ field: "page_size", description: "must be between 1 and 100 (0 means 20)" });
    expect(readPageSize(-1).violation).toBeDefined();
    expect(readPageSize(0, { default: 100, max: 500 })).toEqual({ pageSize: 100 });
    expect(readPageSize(501, { default: 100, max: 500 }).violation?.description).toBe("must be between 1 and 500 (0 means 100)");
  });
});

describe("page tokens", () => {
  const pages = pageTokens({ method: "ListThings", keys: ["t", "id"], scopeKey: "m", wrongScope: "was issued to another caller" });

  it("gives back the cursor of a token issued for the same scope", () => {
    const token = pages.encode({ t: "2026-01-02T03:04:05.000Z", id: "a" }, "caller-1");
    expect(pages.decode(token, "caller-1")).toEqual({ t: "2026-01-02T03:04:05.000Z", id: "a" });
  });

  it("keeps the token format clients already hold (cursor fields, then the scope)", () => {
    const earlier = Buffer.from(JSON.stringify({ t: "2026-01-02T03:04:05.000Z", id: "a", m: "caller-1" })).toString("base64url");
    expect(pages.encode({ t: "2026-01-02T03:04:05.000Z", id: "a" }, "caller-1")).toBe(earlier);
  });

  it("refuses another scope's token and anything it did not issue, on page_token", () => {
    const token = pages.encode({ t: "x", id: "a" }, "caller-1");
    expect(refusal(() => pages.decode(token, "caller-2"))).toEqual({
      code: Code.InvalidArgument,
      field: "page_token",
      description: "was issued to another caller",
    });
    const forged = [
      "%%%",
      Buffer.from("null").toString("base64url"),
      Buffer.from(JSON.stringify({ t: 1, id: "a", m: "caller-1" })).toString("base64url"),
      Buffer.from(JSON.stringify({ t: "x", id: "a" })).toString("base64url"),
    ];
    for (const bad of forged) {
      expect(refusal(() => pages.decode(bad, "caller-1"))).toEqual({
        code: Code.InvalidArgument,
        field: "page_token",
        description: "not a token issued by ListThings",
      });
    }
  });
});
