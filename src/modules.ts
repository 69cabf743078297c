// Every bounded context of eventmall. Adding a context: its folder with a module.ts, and a line here.
import type { ContextModule } from "./kernel/process/context-module";
import { memberModule } from "./member/module";
import { orderModule } from "./order/module";
import { productModule } from "./product/module";
import { reportModule } from "./report/module";

export const contextModules: readonly ContextModule[] = [productModule, memberModule, orderModule, reportModule];
