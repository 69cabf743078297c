-- CreateTable
CREATE TABLE "order_catalog_product" (
    "id" TEXT COLLATE "C" NOT NULL,
    "name" TEXT COLLATE "C" NOT NULL,
    "price" BIGINT NOT NULL,
    "inventory" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "revision" BIGINT NOT NULL,

    CONSTRAINT "order_catalog_product_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order" (
    "id" TEXT COLLATE "C" NOT NULL,
    "member_id" TEXT COLLATE "C" NOT NULL,
    "status" TEXT COLLATE "C" NOT NULL,
    "total" BIGINT NOT NULL,
    "delivery_address" TEXT COLLATE "C" NOT NULL,
    "delivery_phone" TEXT COLLATE "C" NOT NULL,
    "delivery_message" TEXT COLLATE "C" NOT NULL,
    "reject_reason" TEXT COLLATE "C" NOT NULL DEFAULT '',
    "rejected_line" INTEGER NOT NULL DEFAULT 0,
    "placed_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "revision" BIGINT NOT NULL,

    CONSTRAINT "order_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_line" (
    "order_id" TEXT COLLATE "C" NOT NULL,
    "line" INTEGER NOT NULL,
    "product_id" TEXT COLLATE "C" NOT NULL,
    "product_name" TEXT COLLATE "C" NOT NULL,
    "unit_price" BIGINT NOT NULL,
    "quantity" BIGINT NOT NULL,
    "line_total" BIGINT NOT NULL,

    CONSTRAINT "order_line_pkey" PRIMARY KEY ("order_id","line")
);

-- CreateIndex
CREATE INDEX "order_member_id_placed_at_id_idx" ON "order"("member_id", "placed_at", "id");

-- AddForeignKey
ALTER TABLE "order_line" ADD CONSTRAINT "order_line_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "order"("id") ON DELETE CASCADE ON UPDATE CASCADE;
