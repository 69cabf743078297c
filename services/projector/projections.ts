// Every read model the projector process keeps up to date: a context adds its projection here.
import type { Projection } from "../../src/kernel/projector";
import { memberProjection } from "../../src/member/projection";
import { productProjection } from "../../src/product/projection";

export const projections: Projection[] = [productProjection, memberProjection];
