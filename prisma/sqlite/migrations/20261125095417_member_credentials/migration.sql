-- CreateTable
CREATE TABLE "member_credential" (
    "member_id" TEXT NOT NULL PRIMARY KEY,
    "password_hash" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" DATETIME NOT NULL
);

