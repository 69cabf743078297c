-- CreateTable
CREATE TABLE "member" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "login_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "registered_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "password_changed_at" DATETIME,
    "withdrawn_at" DATETIME,
    "revision" BIGINT NOT NULL
);

-- CreateIndex
CREATE INDEX "member_withdrawn_at_id_idx" ON "member"("withdrawn_at", "id");

-- CreateIndex
CREATE INDEX "member_login_id_idx" ON "member"("login_id");

