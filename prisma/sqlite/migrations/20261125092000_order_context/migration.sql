-- CreateTable
CREATE TABLE "order_catalog_product" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "price" BIGINT NOT NULL,
    "inventory" BIGINT NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "revision" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "order" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "member_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "total" BIGINT NOT NULL,
    "delivery_address" TEXT NOT NULL,
    "delivery_phone" TEXT NOT NULL,
    "delivery_message" TEXT NOT NULL,
    "reject_reason" TEXT NOT NULL DEFAULT '',
    "rejected_line" INTEGER NOT NULL DEFAULT 0,
    "placed_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "revision" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "order_line" (
    "order_id" TEXT NOT NULL,
    "line" INTEGER NOT NULL,
    "product_id" TEXT NOT NULL,
    "product_name" TEXT NOT NULL,
    "unit_price" BIGINT NOT NULL,
    "quantity" BIGINT NOT NULL,
    "line_total" BIGINT NOT NULL,

    PRIMARY KEY ("order_id", "line"),
    CONSTRAINT "order_line_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "order" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "order_member_id_placed_at_id_idx" ON "order"("member_id", "placed_at", "id");

