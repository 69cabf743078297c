// The contexts whose events the publisher turns into integration events (each maps its own).
import type { ContextMapping } from "../../src/kernel/publisher/mapping";
import { memberIntegration } from "../../src/member/integration";
import { orderIntegration } from "../../src/order/integration";
import { productIntegration } from "../../src/product/integration";

export const integrationMappings: readonly ContextMapping[] = [productIntegration, memberIntegration, orderIntegration];
