-- CreateTable
CREATE TABLE "projection_checkpoint" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "commit_position" BIGINT NOT NULL,
    "prepare_position" BIGINT NOT NULL,
    "updated_at" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "projection_retry" (
    "projection" TEXT NOT NULL,
    "commit_position" BIGINT NOT NULL,
    "failed_at" DATETIME NOT NULL,
    "last_error" TEXT NOT NULL,

    PRIMARY KEY ("projection", "commit_position")
);

-- CreateTable
CREATE TABLE "product" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "name_folded" TEXT NOT NULL,
    "price" BIGINT NOT NULL,
    "inventory" BIGINT NOT NULL,
    "image_path" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "revision" BIGINT NOT NULL
);

-- CreateIndex
CREATE INDEX "product_created_at_id_idx" ON "product"("created_at", "id");

-- CreateIndex
CREATE INDEX "product_name_folded_id_idx" ON "product"("name_folded", "id");

-- CreateIndex
CREATE INDEX "product_price_id_idx" ON "product"("price", "id");
