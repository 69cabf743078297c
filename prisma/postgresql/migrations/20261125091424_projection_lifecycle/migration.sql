-- CreateTable
CREATE TABLE "projection_status" (
    "name" TEXT COLLATE "C" NOT NULL,
    "state" TEXT COLLATE "C" NOT NULL,
    "detail" TEXT COLLATE "C" NOT NULL,
    "events_processed" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_status_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "inventory_movement_daily" (
    "product_id" TEXT COLLATE "C" NOT NULL,
    "day" TEXT COLLATE "C" NOT NULL,
    "increased" BIGINT NOT NULL,
    "decreased" BIGINT NOT NULL,
    "movements" INTEGER NOT NULL,

    CONSTRAINT "inventory_movement_daily_pkey" PRIMARY KEY ("product_id","day")
);

-- CreateIndex
CREATE INDEX "inventory_movement_daily_day_idx" ON "inventory_movement_daily"("day");

