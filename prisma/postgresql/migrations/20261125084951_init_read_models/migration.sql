-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "projection_checkpoint" (
    "name" TEXT COLLATE "C" NOT NULL,
    "commit_position" BIGINT NOT NULL,
    "prepare_position" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_checkpoint_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "projection_retry" (
    "projection" TEXT COLLATE "C" NOT NULL,
    "commit_position" BIGINT NOT NULL,
    "failed_at" TIMESTAMP(3) NOT NULL,
    "last_error" TEXT COLLATE "C" NOT NULL,

    CONSTRAINT "projection_retry_pkey" PRIMARY KEY ("projection","commit_position")
);

-- CreateTable
CREATE TABLE "product" (
    "id" TEXT COLLATE "C" NOT NULL,
    "name" TEXT COLLATE "C" NOT NULL,
    "name_folded" TEXT COLLATE "C" NOT NULL,
    "price" BIGINT NOT NULL,
    "inventory" BIGINT NOT NULL,
    "image_path" TEXT COLLATE "C" NOT NULL,
    "description" TEXT COLLATE "C" NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "revision" BIGINT NOT NULL,

    CONSTRAINT "product_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "product_created_at_id_idx" ON "product"("created_at", "id");

-- CreateIndex
CREATE INDEX "product_name_folded_id_idx" ON "product"("name_folded", "id");

-- CreateIndex
CREATE INDEX "product_price_id_idx" ON "product"("price", "id");

