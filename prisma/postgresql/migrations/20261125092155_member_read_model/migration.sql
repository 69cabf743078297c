-- CreateTable
CREATE TABLE "member" (
    "id" TEXT COLLATE "C" NOT NULL,
    "login_id" TEXT COLLATE "C" NOT NULL,
    "name" TEXT COLLATE "C" NOT NULL,
    "email" TEXT COLLATE "C" NOT NULL,
    "address" TEXT COLLATE "C" NOT NULL,
    "status" TEXT COLLATE "C" NOT NULL,
    "registered_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "password_changed_at" TIMESTAMP(3),
    "withdrawn_at" TIMESTAMP(3),
    "revision" BIGINT NOT NULL,

    CONSTRAINT "member_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "member_withdrawn_at_id_idx" ON "member"("withdrawn_at", "id");

-- CreateIndex
CREATE INDEX "member_login_id_idx" ON "member"("login_id");
