-- CreateTable
CREATE TABLE "projection_status" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "state" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "events_processed" BIGINT NOT NULL,
    "updated_at" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "inventory_movement_daily" (
    "product_id" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "increased" BIGINT NOT NULL,
    "decreased" BIGINT NOT NULL,
    "movements" INTEGER NOT NULL,

    PRIMARY KEY ("product_id", "day")
);

-- CreateIndex
CREATE INDEX "inventory_movement_daily_day_idx" ON "inventory_movement_daily"("day");

